// juki-issuer batch: the batch issuance (委託発行, specs/issuance.md 4) on the
// command line: an applications file personalized over several PC/SC readers
// or in-process workers, with progress on stderr and a summary on stdout.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include "host_middleware/cli/cli_output.hpp"
#include "issuer_tool/issuance/batch.hpp"
#include "records/records.hpp"

namespace juki::issuer_cli {

struct BatchArgs {
  std::string file, pki_dir, keys_file, in_process_dir, issue_date;
  std::vector<std::string> readers;
  unsigned workers = 1;
  unsigned card_timeout = 300;                     // seconds; 0: wait for ever
  unsigned attempts = issuance::kDefaultAttempts;  // cards an application may take
};

// Adds the subcommand `batch` to `app`, its options into `args`.
CLI::App* add_batch_command(CLI::App& app, BatchArgs& args);

// Runs it: the exit status (0 all issued, 1 some failed, 2 usage or a bad
// file, 3 I/O). The summary goes to `out` (its document for --json, its
// text); progress and errors to stderr.
int run_batch_command(const BatchArgs& args, const std::string& db, const records::Actor& actor,
                      host::cli::Output& out);

}  // namespace juki::issuer_cli
