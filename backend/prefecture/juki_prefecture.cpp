// juki-prefecture: a prefecture server (specs/network.md).
#include "backend/ledger/ledger_server.hpp"

int main(int argc, char** argv) {
  return juki::backend::server::run_program(juki::backend::ledger::prefecture_program(), argc,
                                            argv);
}
