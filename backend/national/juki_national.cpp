// juki-national: the national server of the designated body (specs/network.md).
#include "backend/ledger/ledger_server.hpp"

int main(int argc, char** argv) {
  return juki::backend::server::run_program(juki::backend::ledger::national_program(), argc, argv);
}
