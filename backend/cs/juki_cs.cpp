// juki-cs: a municipality's communication server (specs/network.md).
#include "backend/cs/cs_server.hpp"

int main(int argc, char** argv) {
  return juki::backend::server::run_program(juki::backend::cs::cs_program(), argc, argv);
}
