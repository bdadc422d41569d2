#include "tools/issuer/batch_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "issuer_tool/issuance/batch.hpp"
#include "tools/issuer/in_process_readers.hpp"

namespace juki::issuer_cli {

namespace {

using nlohmann::json;
namespace iss = juki::issuance;
namespace rec = juki::records;

using host::cli::fail;
using host::cli::kExitIo;
using host::cli::kExitOk;
using host::cli::kExitUsage;
using host::cli::Output;
constexpr int kExitFailed = host::cli::kExitRefused;  // some applications failed

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// ", 2 cards: 1 spoiled" when the application took more than one card.
std::string spoiled(const iss::BatchOutcome& o) {
  if (o.spoiled.empty()) return "";
  return ", " + std::to_string(o.attempts) + " cards: " + std::to_string(o.spoiled.size()) +
         " spoiled";
}

std::string_view status(const iss::BatchOutcome& o) {
  return o.already_issued ? "already_issued" : o.ok ? "issued" : "failed";
}

// Progress on stderr: a bar redrawn in place on a terminal, a line per card
// otherwise (a log, a pipe).
class Progress {
 public:
  Progress(std::size_t total, std::vector<std::string> readers)
      : tty_(::isatty(STDERR_FILENO) == 1),
        total_(total),
        readers_(std::move(readers)),
        doing_(readers_.size()),
        start_(std::chrono::steady_clock::now()) {}

  void operator()(const iss::BatchEvent& e) {
    using What = iss::BatchEvent::What;
    if (e.worker < doing_.size()) {
      switch (e.what) {
        case What::started:
          doing_[e.worker] = "line " + std::to_string(e.application->line);
          break;
        case What::card:
          doing_[e.worker] = "card " + e.serial;
          break;
        case What::step:
          doing_[e.worker] = std::string(iss::step_name(e.step));
          break;
        case What::finished:
          doing_[e.worker] = "-";
          break;
      }
    }
    if (e.what == What::finished) {
      ++done_;
      (e.outcome->ok ? ok_ : failed_) += 1;
      if (e.outcome->ok && !e.outcome->already_issued) ++issued_;
      spoiled_ += e.outcome->spoiled.size();
      if (!tty_) line(*e.outcome);
    }
    if (tty_) bar();
  }

  void finish() {
    if (tty_) std::cerr << "\n";
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  void line(const iss::BatchOutcome& o) const {
    std::cerr << "juki-issuer: [" << done_ << "/" << total_ << "] line " << o.line << ": ";
    if (o.already_issued)
      std::cerr << "card " << o.serial << " already issued (application " << *o.application << ", "
                << rec::to_string(*o.card_state) << ")\n";
    else if (o.ok)
      std::cerr << "card " << o.serial << " issued (application " << *o.application << ", "
                << o.reader << ", " << fixed(o.seconds, 1) << " s" << (o.resumed ? ", resumed" : "")
                << spoiled(o) << ")\n";
    else
      std::cerr << "failed at " << o.stage << " (" << o.kind << "): " << o.reason << "\n";
  }

  void bar() const {
    constexpr std::size_t kWidth = 24;
    const std::size_t filled = total_ == 0 ? kWidth : done_ * kWidth / total_;
    const double t = elapsed();
    std::string s = "\r\033[K[" + std::string(filled, '#') + std::string(kWidth - filled, '.') +
                    "] " + std::to_string(done_) + "/" + std::to_string(total_) + "  ok " +
                    std::to_string(ok_) + "  failed " + std::to_string(failed_) + "  spoiled " +
                    std::to_string(spoiled_) + "  " + fixed(t, 0) + " s  " +
                    fixed(t > 0 ? issued_ * 60.0 / t : 0, 1) + " cards/min";
    // What each reader does, while it fits on a line.
    if (doing_.size() <= 4)
      for (std::size_t w = 0; w < doing_.size(); ++w)
        s += "  | " + std::to_string(w) + ": " + (doing_[w].empty() ? "-" : doing_[w]);
    std::cerr << s << std::flush;
  }

  bool tty_;
  std::size_t total_;
  std::vector<std::string> readers_;
  std::vector<std::string> doing_;
  std::chrono::steady_clock::time_point start_;
  std::size_t done_ = 0, ok_ = 0, failed_ = 0, spoiled_ = 0;
  std::size_t issued_ = 0;  // by this run: the cards per minute
};

json to_json(const iss::BatchOutcome& o) {
  json spoiled = json::array();
  for (const iss::SpoiledCard& c : o.spoiled)
    spoiled.push_back(
        {{"card", c.serial}, {"stage", c.stage}, {"kind", c.kind}, {"reason", c.reason}});
  json j = {{"line", o.line},
            {"ok", o.ok},
            {"status", status(o)},
            {"reader", o.reader.empty() ? json(nullptr) : json(o.reader)},
            {"application", o.application ? json(*o.application) : json(nullptr)},
            {"reused_application", o.reused_application},
            {"card", o.serial.empty() ? json(nullptr) : json(o.serial)},
            {"attempts", o.attempts},
            {"spoiled", spoiled},
            {"seconds", o.seconds}};
  if (o.already_issued) {
    j["expiry_date"] = *o.expiry;
    j["card_state"] = rec::to_string(*o.card_state);
  } else if (o.ok) {
    j["expiry_date"] = *o.expiry;
    j["resumed"] = o.resumed;
  } else {
    j["stage"] = o.stage;
    j["kind"] = o.kind;
    j["reason"] = o.reason;
  }
  return j;
}

}  // namespace

CLI::App* add_batch_command(CLI::App& app, BatchArgs& a) {
  auto* cmd = app.add_subcommand(
      "batch",
      "Batch issuance (委託発行): receive, register and personalize every application of a JSON "
      "Lines file (it holds the JPKI PINs: keep it secret) on blank cards in several readers in "
      "parallel; run again, it issues only what is left. Exit 0 all issued (now or before), 1 some "
      "failed, 2 usage or a bad file, 3 I/O");
  cmd->add_option("FILE", a.file, "The applications, one JSON object per line")->required();
  cmd->add_option("--pki", a.pki_dir, "The juki-pki directory (with init-jpki)")->required();
  cmd->add_option("--counter-keys", a.keys_file, "The counter's keys file")->required();
  cmd->add_option("--reader", a.readers, "A PC/SC reader, one worker each (repeatable)");
  cmd->add_option("--in-process", a.in_process_dir,
                  "In-process readers instead of PC/SC: blank card images made in this directory");
  cmd->add_option("--workers", a.workers, "In-process readers working in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--issue-date", a.issue_date, "YYYYMMDD (default: today in Japan)");
  cmd->add_option("--card-timeout", a.card_timeout,
                  "Seconds a PC/SC reader waits for the next card or a removal (0: for ever)")
      ->capture_default_str();
  cmd->add_option("--attempts", a.attempts,
                  "Cards an application may take: a spoiled card is followed by the reader's next "
                  "blank card until this many were tried")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10u));
  return cmd;
}

int run_batch_command(const BatchArgs& a, const std::string& db, const rec::Actor& actor,
                      Output& out) {
  json& doc = out.doc;
  std::ostream& text = out.text;
  const bool pcsc = !a.readers.empty();
  if (pcsc == !a.in_process_dir.empty())
    return fail(out,
                {kExitUsage, "usage", "batch: give --reader R (repeatable) or --in-process DIR"});
  if (pcsc && a.workers != 1)
    return fail(out, {kExitUsage, "usage",
                      "batch: --workers is for --in-process; one worker per --reader"});

  // The file holds the residents' PINs: say so when others can read it.
  struct stat st {};
  if (::stat(a.file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    std::cerr << "juki-issuer: warning: " << a.file
              << " holds JPKI PINs and is open to others (mode 0" << std::oct << (st.st_mode & 0777)
              << std::dec << "): chmod 600 it\n";
  std::ifstream in(a.file, std::ios::binary);
  if (!in) return fail(out, {kExitIo, "io", "cannot read " + a.file});
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return fail(out, {kExitIo, "io", "cannot read " + a.file});

  auto records = rec::Records::open(db);
  if (!records) {
    const bool input = records.error().kind == rec::RecordsError::Kind::invalid_input;
    return fail(out, {input ? kExitUsage : kExitIo,
                      std::string(rec::to_string(records.error().kind)), records.error().message});
  }
  iss::BatchDefaults defaults{
      records->municipality(),
      a.issue_date.empty() ? rec::japan_date(std::chrono::system_clock::now()) : a.issue_date};
  auto applications = iss::parse_applications(content.str(), defaults);
  if (!applications) {
    const auto& errors = applications.error();
    json lines = json::array();
    std::string message = a.file + ": " + std::to_string(errors.size()) +
                          (errors.size() == 1 ? " bad line" : " bad lines") + ", nothing done";
    for (const iss::LineError& e : errors) {
      lines.push_back({{"line", e.line}, {"message", e.message}});
      message += "\n  " + (e.line == 0 ? std::string("file") : "line " + std::to_string(e.line)) +
                 ": " + e.message;
    }
    const int code = fail(out, {kExitUsage, "bad_file", message});
    doc["error"]["lines"] = lines;
    return code;
  }

  auto keys = iss::load_counter_keys(a.keys_file);
  if (!keys)
    return fail(out, {keys.error().io ? kExitIo : kExitUsage, "keys", keys.error().message});
  auto authorities = iss::Authorities::load(a.pki_dir);
  if (!authorities) return fail(out, {kExitIo, "pki", authorities.error()});

  std::unique_ptr<iss::BlankImages> images;
  std::vector<std::unique_ptr<iss::CardReader>> readers;
  if (pcsc) {
    std::set<std::string> names;
    std::optional<std::chrono::milliseconds> wait;
    if (a.card_timeout > 0) wait = std::chrono::seconds(a.card_timeout);
    for (const std::string& r : a.readers) {
      auto reader = iss::PcscReader::open(r, wait);
      if (!reader) return fail(out, {kExitIo, "pcsc", reader.error()});
      if (!names.insert((*reader)->name()).second)
        return fail(out,
                    {kExitUsage, "usage", "batch: reader '" + (*reader)->name() + "' given twice"});
      readers.push_back(std::move(*reader));
    }
  } else {
    std::error_code ec;
    std::filesystem::create_directories(a.in_process_dir, ec);
    if (ec) return fail(out, {kExitIo, "io", a.in_process_dir + ": " + ec.message()});
    images = std::make_unique<iss::BlankImages>(a.in_process_dir, keys->transport_key);
    for (unsigned w = 0; w < a.workers; ++w)
      readers.push_back(
          std::make_unique<iss::InProcessReader>(*images, "in-process " + std::to_string(w)));
  }
  std::vector<std::string> reader_names;
  for (const auto& r : readers) reader_names.push_back(r->name());

  Progress progress(applications->size(), reader_names);
  iss::BatchOptions options;
  options.db = db;
  options.actor = actor;
  options.attempts = a.attempts;
  options.observer = [&](const iss::BatchEvent& e) { progress(e); };
  auto summary = iss::run_batch(*applications, readers, *authorities, *keys, options);
  progress.finish();
  if (!summary)
    return fail(
        out, {kExitIo, std::string(rec::to_string(summary.error().kind)), summary.error().message});

  json results = json::array();
  for (const iss::BatchOutcome& o : summary->outcomes) results.push_back(to_json(o));
  doc = {{"ok", summary->failed == 0},
         {"file", a.file},
         {"readers", reader_names},
         {"issue_date", defaults.issue_date},
         {"cards", summary->outcomes.size()},
         {"issued", summary->issued},
         {"already_issued", summary->already_issued},
         {"failed", summary->failed},
         {"spoiled", summary->spoiled},
         {"attempts", a.attempts},
         {"elapsed_seconds", summary->elapsed_seconds},
         {"cards_per_minute", summary->cards_per_minute},
         {"results", results}};
  const std::size_t n = summary->outcomes.size();
  text << "batch " << a.file << ": " << n << (n == 1 ? " card: " : " cards: ") << summary->issued
       << " issued, " << summary->already_issued << " already issued, " << summary->failed
       << " failed, " << summary->spoiled << " spoiled in " << fixed(summary->elapsed_seconds, 1)
       << " s, " << fixed(summary->cards_per_minute, 2) << " cards per minute (" << readers.size()
       << (readers.size() == 1 ? " reader" : " readers") << ")\n";
  for (const iss::BatchOutcome& o : summary->outcomes) {
    text << "  line " << o.line << ": ";
    if (o.already_issued)
      text << "card " << o.serial << " already issued for application " << *o.application << " ("
           << rec::to_string(*o.card_state) << ")\n";
    else if (o.ok)
      text << "card " << o.serial << " issued for application " << *o.application
           << (o.resumed ? " (resumed)" : "") << spoiled(o) << "\n";
    else
      text << "FAILED at " << o.stage << " (" << o.kind << "): " << o.reason << "\n";
    for (const iss::SpoiledCard& c : o.spoiled)
      text << "    card " << c.serial << " spoiled at " << c.stage << " (" << c.kind
           << "): " << c.reason << "\n";
  }
  if (summary->failed == 0) return kExitOk;
  doc["error"] = {
      {"kind", "failed"},
      {"message", std::to_string(summary->failed) + " of " +
                      std::to_string(summary->outcomes.size()) + " applications failed"}};
  std::cerr << "juki-issuer: " << summary->failed << " of " << summary->outcomes.size()
            << " applications failed\n";
  return kExitFailed;
}

}  // namespace juki::issuer_cli
