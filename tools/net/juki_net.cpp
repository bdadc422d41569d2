// juki-net: the operator's tool for Juki-net's servers (specs/network.md 10).
// It reads a server's config file and acts as that server: on its store
// directly (import, status) or with its certificate towards its upstream
// (counts, check, lookup); with a resident-system config it is the existing
// system's client of its CS (report).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <memory>

#include "backend/calendar/japan_time.hpp"
#include "backend/calendar/operating_calendar.hpp"
#include "backend/cs/audit.hpp"
#include "backend/cs/cs_store.hpp"
#include "backend/ledger/ledger.hpp"
#include "backend/server/config.hpp"
#include "backend/server/runtime.hpp"
#include "backend/trust/tls.hpp"
#include "backend/wire/identity.hpp"
#include "backend/wire/import_file.hpp"
#include "backend/wire/juki_net.grpc.pb.h"
#include "host_middleware/cli/cli_output.hpp"

namespace {

using namespace juki;
using namespace juki::backend;
namespace cli = juki::host::cli;
namespace proto = juki::net::v1;
using nlohmann::json;

constexpr std::size_t kImportChunk = 1'000;

cli::Failure io(std::string message) {
  return {cli::kExitIo, "io", std::move(message)};
}

Result<server::Config, cli::Failure> config_of(const std::string& path,
                                               std::initializer_list<server::Tier> tiers) {
  auto config = server::load_config(path);
  if (!config) return unexpected(cli::usage(config.error()));
  for (auto t : tiers)
    if (config->tier == t) return std::move(*config);
  return unexpected(cli::usage(path + ": a " + std::string(server::tier_name(config->tier)) +
                               " config cannot do this"));
}

Result<cs::CsStore, cli::Failure> open_cs(const server::Config& config) {
  auto connection = store::Connection::open(config.store);
  if (!connection) return unexpected(io("store: " + connection.error().message));
  auto opened = cs::CsStore::open(std::move(*connection), config.code);
  if (!opened) return unexpected(io("store: " + opened.error().message));
  return std::move(*opened);
}

Result<ledger::Ledger, cli::Failure> open_ledger(const server::Config& config) {
  auto connection = store::Connection::open(config.store);
  if (!connection) return unexpected(io("store: " + connection.error().message));
  auto opened =
      ledger::Ledger::open(std::move(*connection), {config.tier == server::Tier::prefecture, 1});
  if (!opened) return unexpected(io("store: " + opened.error().message));
  return std::move(*opened);
}

// The channel to the config's upstream, with its certificate.
Result<std::shared_ptr<grpc::Channel>, cli::Failure> upstream_channel(
    const server::Config& config) {
  trust::require_tls13();
  auto trust = trust::TrustStore::load(config.trust, server::unix_now());
  if (!trust) return unexpected(io("trust: " + trust.error()));
  const pki::Role role = config.tier == server::Tier::cs           ? pki::Role::prefecture
                         : config.tier == server::Tier::prefecture ? pki::Role::national
                                                                   : pki::Role::cs;
  auto shared = std::make_shared<trust::TrustStore>(std::move(*trust));
  return trust::open_channel(config.upstream->address,
                             trust::channel_credentials(shared, role, config.upstream->code, {}));
}

cli::Failure rpc_failure(const std::string& who, const grpc::Status& status) {
  const bool down = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  return {down ? cli::kExitIo : cli::kExitRefused, down ? "unavailable" : "refused",
          who + ": " + status.error_message()};
}

struct Tally {
  std::int64_t accepted = 0, already = 0, refused = 0;
  json refusals = json::array();
  void add(std::size_t line, const proto::ReportResult& r, std::ostringstream& text) {
    if (r.status() == proto::ACCEPTED) ++accepted;
    if (r.status() == proto::ALREADY_ACCEPTED) ++already;
    if (r.status() == proto::REFUSED) refuse(line, r.report(), r.field(), r.message(), text);
  }
  void refuse(std::size_t line, const std::string& report, const std::string& field,
              const std::string& message, std::ostringstream& text) {
    ++refused;
    refusals.push_back(
        {{"line", line}, {"report", report}, {"field", field}, {"message", message}});
    text << "line " << line << ": " << (field.empty() ? "" : field + ": ") << message << "\n";
  }
  void summary(cli::Output& out) const {
    out.doc["accepted"] = accepted;
    out.doc["already_accepted"] = already;
    out.doc["refused"] = refused;
    out.doc["refusals"] = refusals;
    out.text << accepted << " accepted, " << already << " already accepted, " << refused
             << " refused\n";
  }
};

// Reads JSON Lines reports in chunks: each chunk's reports that parse, with
// their line numbers, go to `chunk`; a line that does not parse is refused
// in `tally` by itself.

template <class Chunk>
Result<void, cli::Failure> each_chunk(const std::string& file, Tally& tally,
                                      std::ostringstream& text, Chunk&& chunk) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) return unexpected(io(file + ": cannot read"));
    in = &in_file;
  }
  std::vector<proto::ChangeReport> reports;
  std::vector<std::size_t> numbers;
  std::string line;
  std::size_t number = 0;
  while (std::getline(*in, line)) {
    ++number;
    if (line.empty()) continue;
    auto report = wire::parse_report_line(line);
    if (!report) {
      tally.refuse(number, "", report.error().field, report.error().message, text);
      continue;
    }
    reports.push_back(std::move(*report));
    numbers.push_back(number);
    if (reports.size() == kImportChunk) {
      if (auto r = chunk(reports, numbers); !r) return r;
      reports.clear();
      numbers.clear();
    }
  }
  if (!reports.empty()) return chunk(reports, numbers);
  return {};
}

// import: the file straight into the CS's store, as the existing system's
// file transfer (NETWORK.md B11); the running CS sends what it records.
int import_file(const std::string& config_path, const std::string& file, bool json_out) {
  cli::Output out("juki-net");
  auto config = config_of(config_path, {server::Tier::cs});
  if (!config) return cli::fail(out, config.error());
  auto cs = open_cs(*config);
  if (!cs) return cli::fail(out, cs.error());
  Tally tally;
  auto done =
      each_chunk(file, tally, out.text,
                 [&](const std::vector<proto::ChangeReport>& reports,
                     const std::vector<std::size_t>& numbers) -> Result<void, cli::Failure> {
                   auto results = cs->record(reports, server::unix_now(), server::today());
                   if (!results) return unexpected(io("store: " + results.error().message));
                   for (std::size_t i = 0; i < results->size(); ++i)
                     tally.add(numbers[i], (*results)[i], out.text);
                   return {};
                 });
  if (!done) return cli::fail(out, done.error());
  tally.summary(out);
  return cli::finish(out, json_out, tally.refused > 0 ? cli::kExitRefused : cli::kExitOk);
}

// report: the same file over the ResidentSystemLink RPC, as the existing
// system's online link.
int report_file(const std::string& config_path, const std::string& file, bool json_out) {
  cli::Output out("juki-net");
  auto config = config_of(config_path, {server::Tier::resident_system});
  if (!config) return cli::fail(out, config.error());
  auto channel = upstream_channel(*config);
  if (!channel) return cli::fail(out, channel.error());
  auto stub = proto::ResidentSystemLink::NewStub(*channel);
  Tally tally;
  auto done =
      each_chunk(file, tally, out.text,
                 [&](const std::vector<proto::ChangeReport>& reports,
                     const std::vector<std::size_t>& numbers) -> Result<void, cli::Failure> {
                   proto::ChangeReports request;
                   for (const auto& r : reports) *request.add_reports() = r;
                   proto::ReportOutcome outcome;
                   auto context = server::call_context(*config);
                   auto status = stub->ReportChanges(context.get(), request, &outcome);
                   if (!status.ok()) return unexpected(rpc_failure("CS " + config->code, status));
                   for (int i = 0; i < outcome.results_size(); ++i)
                     tally.add(numbers[static_cast<std::size_t>(i)], outcome.results(i), out.text);
                   return {};
                 });
  if (!done) return cli::fail(out, done.error());
  tally.summary(out);
  return cli::finish(out, json_out, tally.refused > 0 ? cli::kExitRefused : cli::kExitOk);
}

int status(const std::string& config_path, bool json_out) {
  cli::Output out("juki-net");
  auto config =
      config_of(config_path, {server::Tier::cs, server::Tier::prefecture, server::Tier::national});
  if (!config) return cli::fail(out, config.error());
  out.doc["tier"] = std::string(server::tier_name(config->tier));
  out.doc["code"] = config->code;
  if (config->tier == server::Tier::cs) {
    auto cs = open_cs(*config);
    if (!cs) return cli::fail(out, cs.error());
    auto last = cs->last_sequence();
    auto confirmed = cs->confirmed();
    auto backlog = cs->backlog();
    if (!last || !confirmed || !backlog) return cli::fail(out, io("store: cannot read the outbox"));
    out.doc["last_sequence"] = *last;
    out.doc["confirmed"] = *confirmed;
    out.doc["unconfirmed"] = backlog->count;
    out.text << "CS " << config->code << ": " << *last << " notifications, " << *confirmed
             << " confirmed by the prefecture, " << backlog->count << " on their way\n";
    if (backlog->oldest_recorded_at) {
      auto calendar = calendar::OperatingCalendar::load(config->calendar);
      if (!calendar) return cli::fail(out, io("calendar: " + calendar.error().message));
      const calendar::UtcTime recorded{std::chrono::seconds(*backlog->oldest_recorded_at)};
      auto deadline = calendar->notification_deadline(recorded);
      if (!deadline) return cli::fail(out, io("calendar: " + deadline.error().message));
      const calendar::UtcTime now{std::chrono::seconds(server::unix_now())};
      // At risk: due within the next two hours, or overdue.
      const bool at_risk = *deadline - now <= std::chrono::hours(2);
      const auto due = calendar::to_jst(*deadline);
      out.doc["oldest_unconfirmed_due"] = due ? due->to_string() : "";
      out.doc["at_risk"] = at_risk;
      out.text << "the oldest is due by " << (due ? due->to_string() : "?")
               << (at_risk ? " (AT RISK)" : "") << "\n";
    } else {
      out.doc["at_risk"] = false;
    }
  } else {
    auto ledger = open_ledger(*config);
    if (!ledger) return cli::fail(out, ledger.error());
    auto rows =
        ledger->connection().query("SELECT sender, high_water FROM senders ORDER BY sender");
    auto held = ledger->connection().query_one("SELECT count(*) FROM held");
    auto records = ledger->connection().query_one(
        "SELECT count(*), coalesce(sum(CASE WHEN status = 'live' THEN 1 ELSE 0 END), 0) "
        "FROM identity");
    if (!rows || !held || !records) return cli::fail(out, io("store: cannot read the ledger"));
    json senders = json::object();
    for (const auto& row : *rows) senders[row.text(0)] = row.integer(1);
    out.doc["senders"] = senders;
    out.doc["held"] = held->integer(0);
    out.doc["records"] = records->integer(0);
    out.doc["live"] = records->integer(1);
    out.text << (config->tier == server::Tier::national ? std::string("national")
                                                        : "prefecture " + config->code)
             << ": " << records->integer(1) << " live records of " << records->integer(0) << ", "
             << rows->size() << " senders, " << held->integer(0) << " batches held\n";
    for (const auto& row : *rows)
      out.text << "  " << row.text(0) << " up to sequence " << row.integer(1) << "\n";
    if (config->tier == server::Tier::prefecture) {
      auto backlog = ledger->relay_backlog();
      if (!backlog) return cli::fail(out, io("store: " + backlog.error().message));
      out.doc["relay_backlog"] = *backlog;
      out.text << "  " << *backlog << " envelopes to relay to the national server\n";
    }
  }
  return cli::finish(out, json_out, cli::kExitOk);
}

json list_json(const proto::UpdateCountList& list) {
  json days = json::array();
  for (const auto& d : list.days()) {
    json counts = json::object();
    for (const auto& c : d.counts()) counts[std::string(wire::reason_name(c.reason()))] = c.count();
    days.push_back({{"date", d.date()},
                    {"counts", counts},
                    {"first_sequence", d.first_sequence()},
                    {"last_sequence", d.last_sequence()},
                    {"total", d.total()}});
  }
  return {{"receiver", list.receiver()}, {"high_water", list.high_water()}, {"days", days}};
}

// counts: the CS's update-count list against its prefecture's and the
// national server's (through the prefecture).
int counts(const std::string& config_path, const std::string& from, const std::string& to,
           bool json_out) {
  cli::Output out("juki-net");
  auto config = config_of(config_path, {server::Tier::cs});
  if (!config) return cli::fail(out, config.error());
  auto cs = open_cs(*config);
  if (!cs) return cli::fail(out, cs.error());
  auto own = cs->update_counts(from, to);
  if (!own) return cli::fail(out, io("store: " + own.error().message));
  auto channel = upstream_channel(*config);
  if (!channel) return cli::fail(out, channel.error());
  auto stub = proto::Notifications::NewStub(*channel);
  json lists = json::array({list_json(*own)});
  std::vector<std::string> differences;
  for (auto tier : {proto::PREFECTURE, proto::NATIONAL}) {
    proto::UpdateCountRequest request;
    request.set_sender(config->code);
    request.set_from_date(from);
    request.set_to_date(to);
    request.set_tier(tier);
    proto::UpdateCountList theirs;
    auto context = server::call_context(*config);
    auto s = stub->UpdateCounts(context.get(), request, &theirs);
    if (!s.ok())
      return cli::fail(out, rpc_failure(tier == proto::NATIONAL ? "national" : "prefecture", s));
    lists.push_back(list_json(theirs));
    for (auto& d : cs::compare_counts(*own, theirs)) differences.push_back(std::move(d));
  }
  out.doc["lists"] = lists;
  out.doc["differences"] = differences;
  for (const auto& l : lists) {
    out.text << "update-count list at " << l["receiver"].get<std::string>() << " (up to sequence "
             << l["high_water"] << "):\n";
    for (const auto& d : l["days"])
      out.text << "  " << d["date"].get<std::string>() << " " << d["total"] << " changes "
               << d["counts"].dump() << ", sequences " << d["first_sequence"] << ".."
               << d["last_sequence"] << "\n";
  }
  for (const auto& d : differences) out.text << "DIFFERENCE " << d << "\n";
  if (differences.empty()) out.text << "the lists agree\n";
  return cli::finish(out, json_out, differences.empty() ? cli::kExitOk : cli::kExitRefused);
}

// check: the consistency check (本人確認情報整合) of the CS against its
// prefecture and the national server; --repair re-sends what differs.
int check(const std::string& config_path, bool repair, bool json_out) {
  cli::Output out("juki-net");
  auto config = config_of(config_path, {server::Tier::cs});
  if (!config) return cli::fail(out, config.error());
  auto cs = open_cs(*config);
  if (!cs) return cli::fail(out, cs.error());
  auto channel = upstream_channel(*config);
  if (!channel) return cli::fail(out, channel.error());
  auto stub = proto::Notifications::NewStub(*channel);
  cs::DigestSource own =
      [&](const proto::DigestRequest& request) -> Result<proto::DigestReply, std::string> {
    auto r = cs->range_digests(request);
    if (!r) return unexpected(r.error().message);
    return *r;
  };
  std::set<std::string> to_resend;
  json tiers = json::array();
  for (auto tier : {proto::PREFECTURE, proto::NATIONAL}) {
    const std::string name = tier == proto::NATIONAL ? "national" : "prefecture";
    cs::DigestSource theirs =
        [&](const proto::DigestRequest& request) -> Result<proto::DigestReply, std::string> {
      proto::DigestRequest asked = request;
      asked.set_tier(tier);
      proto::DigestReply reply;
      auto context = server::call_context(*config);
      auto s = stub->RangeDigests(context.get(), asked, &reply);
      if (!s.ok()) return unexpected(s.error_message());
      return reply;
    };
    auto compared = cs::compare_digests(config->code, own, theirs);
    if (!compared) return cli::fail(out, io(name + ": " + compared.error()));
    json differences = json::array();
    for (const auto& d : compared->differences) {
      differences.push_back(
          {{"resident_code", d.resident_code}, {"kind", std::string(cs::kind_name(d.kind))}});
      out.text << name << ": " << d.resident_code << " " << cs::kind_name(d.kind) << "\n";
      to_resend.insert(d.resident_code);
    }
    tiers.push_back({{"tier", name},
                     {"differences", differences},
                     {"requests", compared->requests},
                     {"records_compared", compared->records_compared}});
    out.text << name << ": " << compared->differences.size() << " differences ("
             << compared->requests << " digest requests, " << compared->records_compared
             << " record digests)\n";
  }
  out.doc["tiers"] = tiers;
  if (repair && !to_resend.empty()) {
    const std::vector<std::string> codes(to_resend.begin(), to_resend.end());
    auto queued = cs->resend(codes, server::unix_now());
    if (!queued) return cli::fail(out, io("store: " + queued.error().message));
    out.doc["resent"] = *queued;
    out.text << "re-sent " << *queued << " records from the CS\n";
  }
  if (to_resend.empty()) out.text << "consistent\n";
  return cli::finish(out, json_out, to_resend.empty() || repair ? cli::kExitOk : cli::kExitRefused);
}

int lookup(const std::string& config_path, const std::string& code, bool nationwide,
           bool json_out) {
  cli::Output out("juki-net");
  auto config = config_of(config_path, {server::Tier::cs});
  if (!config) return cli::fail(out, config.error());
  auto channel = upstream_channel(*config);
  if (!channel) return cli::fail(out, channel.error());
  auto stub = proto::IdentityLookup::NewStub(*channel);
  proto::LookupRequest request;
  request.set_resident_code(code);
  request.set_nationwide(nationwide);
  proto::LookupReply reply;
  auto context = server::call_context(*config);
  auto s = stub->Lookup(context.get(), request, &reply);
  if (!s.ok()) return cli::fail(out, rpc_failure("prefecture", s));
  const auto& id = reply.identity();
  out.doc["status"] = proto::LookupStatus_Name(reply.status());
  out.doc["answered_by"] = reply.answered_by();
  out.text << code << ": " << proto::LookupStatus_Name(reply.status()) << " (answered by "
           << reply.answered_by() << ")\n";
  if (reply.status() == proto::FOUND || reply.status() == proto::DELETED) {
    out.doc["identity"] = {{"resident_code", id.resident_code()},
                           {"name_kanji", id.name_kanji()},
                           {"name_kana", id.name_kana()},
                           {"birth_date", id.birth_date()},
                           {"sex", id.sex() == proto::MALE ? "male" : "female"},
                           {"address", id.address()}};
    out.doc["municipality"] = reply.municipality();
    out.doc["reason"] = std::string(wire::reason_name(reply.reason()));
    out.doc["change_date"] = reply.change_date();
    out.text << "  " << id.name_kanji() << " (" << id.name_kana() << "), born " << id.birth_date()
             << ", " << id.address() << "\n  last change: " << wire::reason_name(reply.reason())
             << " on " << reply.change_date() << " in " << reply.municipality() << "\n";
  }
  return cli::finish(out, json_out,
                     reply.status() == proto::UNKNOWN || reply.status() == proto::NOT_HERE
                         ? cli::kExitRefused
                         : cli::kExitOk);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The operator's tool for Juki-net's servers (specs/network.md 10): each command reads a "
      "server's config and acts as that server.\n"
      "Exit status: 0 done, 1 refused or a difference found, 2 usage, 3 store, trust or network "
      "failure.",
      "juki-net"};
  app.require_subcommand(1);
  bool json_out = false;
  app.add_flag("--json", json_out, "One JSON document on stdout");
  std::string config, file = "-", from, to, code;
  bool repair = false, nationwide = false;

  auto* import =
      app.add_subcommand("import", "A JSON Lines file of change reports into a CS's store");
  import->add_option("--config", config, "The CS's config")->required();
  import->add_option("FILE", file, "The reports, one JSON object a line ('-': stdin)");
  auto* report = app.add_subcommand(
      "report", "A JSON Lines file of change reports to a CS over its ResidentSystemLink");
  report->add_option("--config", config, "The resident system's client config")->required();
  report->add_option("FILE", file, "The reports ('-': stdin)");
  auto* status_cmd = app.add_subcommand("status", "A server's outbox, senders and backlog");
  status_cmd->add_option("--config", config, "The server's config")->required();
  auto* counts_cmd = app.add_subcommand(
      "counts", "A CS's update-count list against the prefecture's and the national server's");
  counts_cmd->add_option("--config", config, "The CS's config")->required();
  counts_cmd->add_option("--from", from, "First day (YYYY-MM-DD, JST; default today)");
  counts_cmd->add_option("--to", to, "Last day (default: --from)");
  auto* check_cmd = app.add_subcommand(
      "check", "The consistency check of a CS's identity information with the upper tiers");
  check_cmd->add_option("--config", config, "The CS's config")->required();
  check_cmd->add_flag("--repair", repair, "Re-send every record that differs from the CS");
  auto* lookup_cmd = app.add_subcommand("lookup", "Identity information by resident code");
  lookup_cmd->add_option("--config", config, "The CS's config")->required();
  lookup_cmd->add_option("CODE", code, "The resident code (11 digits)")->required();
  lookup_cmd->add_flag("--nationwide", nationwide,
                       "Ask the national server when the prefecture has no live record");

  if (auto exit = cli::parse_command_line(app, argc, argv)) return *exit;
  if (from.empty()) from = server::today().to_string();
  if (to.empty()) to = from;
  if (import->parsed()) return import_file(config, file, json_out);
  if (report->parsed()) return report_file(config, file, json_out);
  if (status_cmd->parsed()) return status(config, json_out);
  if (counts_cmd->parsed()) return counts(config, from, to, json_out);
  if (check_cmd->parsed()) return check(config, repair, json_out);
  return lookup(config, code, nationwide, json_out);
}
