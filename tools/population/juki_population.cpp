// juki-population: a deterministic synthetic population of Japan for tests and
// benchmarks of the Juki-net servers (backend/population): its municipalities,
// its residents as the CS's initial import (code_entry lines), one resident
// regenerated from its index or code, and the change reports of given days.
// Exit: 0 ok, 1 refused (a municipality not in the population, a code not of
// it), 2 usage, 3 I/O (the output could not be written).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/calendar/date.hpp"
#include "backend/population/changes.hpp"
#include "backend/population/population.hpp"
#include "backend/population/report.hpp"
#include "host_middleware/cli/cli_output.hpp"

namespace {

using namespace juki;
using namespace juki::backend::population;
using juki::backend::calendar::Date;
using nlohmann::json;

using host::cli::fail;
using host::cli::Failure;
using host::cli::kExitIo;
using host::cli::kExitOk;
using host::cli::kExitRefused;
using host::cli::kExitUsage;
using host::cli::Output;
using host::cli::usage;

struct PopulationArgs {
  std::uint64_t seed = 0;
  std::uint64_t residents = kMaxResidents;
  std::optional<std::size_t> municipalities;
  std::string base_date = "2002-08-05";
};

// The residents command and the others need --seed and --residents; the
// municipalities' list does not (the geography is the same for every seed).
void add_population_options(CLI::App* cmd, PopulationArgs& a, bool required) {
  auto* seed = cmd->add_option("--seed", a.seed, "The population's seed (a 64-bit number)");
  auto* residents = cmd->add_option("--residents", a.residents, "Residents, 1000 to 125000000");
  if (required) {
    seed->required();
    residents->required();
  } else {
    residents->capture_default_str();
  }
  cmd->add_option("--municipalities", a.municipalities,
                  "Only this many municipalities, 1 to 1741 (a small country, the same for "
                  "every seed: about two per prefecture, the most populous first)");
  cmd->add_option("--base-date", a.base_date,
                  "The day the population is as of (YYYY-MM-DD, 1974 to 9000): its code_entry "
                  "date")
      ->capture_default_str();
}

Result<Population, Failure> make_population(const PopulationArgs& a) {
  PopulationConfig config;
  config.seed = a.seed;
  config.residents = a.residents;
  config.municipality_limit = a.municipalities;
  const auto base = Date::parse(a.base_date);
  if (!base) return unexpected(usage("--base-date: " + base.error()));
  config.base_date = *base;
  auto p = Population::create(config);
  if (!p) return unexpected(usage(p.error().message));
  return std::move(*p);
}

// --municipality CODE: one municipality of the population.
Result<std::optional<std::size_t>, Failure> only_municipality(const Population& p,
                                                              const std::string& code) {
  if (code.empty()) return std::optional<std::size_t>{};
  const std::size_t m = p.geography().find(code);
  if (m == p.geography().size())
    return unexpected(usage("--municipality: no municipality has the code " + code +
                            " (6 digits with the check digit; see the municipalities command)"));
  if (!p.has(m))
    return unexpected(Failure{kExitRefused, "not_in_population",
                              "municipality " + code + " is not in this population"});
  return std::optional<std::size_t>{m};
}

// JSON Lines to a file or stdout through one large buffer.
class LineSink {
 public:
  static Result<LineSink, Failure> open(const std::string& path) {
    if (path.empty() || path == "-") return LineSink(stdout, false, "stdout");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return unexpected(Failure{kExitIo, "io", "cannot write " + path});
    return LineSink(f, true, path);
  }
  LineSink(LineSink&& other) noexcept
      : file_(std::exchange(other.file_, nullptr)),
        owned_(other.owned_),
        name_(std::move(other.name_)),
        buffer_(std::move(other.buffer_)) {}
  ~LineSink() {
    if (owned_ && file_) std::fclose(file_);
  }

  std::string& buffer() { return buffer_; }
  void maybe_flush() {
    if (buffer_.size() >= kFlushAt) flush();
  }
  void flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
      failed_ = true;
    bytes_ += buffer_.size();
    buffer_.clear();
  }
  // Flushes and closes; a failure to write anything is an I/O failure.
  Result<void, Failure> finish() {
    flush();
    if (std::fflush(file_) != 0) failed_ = true;
    if (owned_) {
      if (std::fclose(file_) != 0) failed_ = true;
      file_ = nullptr;
    }
    if (failed_) return unexpected(Failure{kExitIo, "io", "cannot write " + name_});
    return {};
  }
  std::uint64_t bytes() const { return bytes_; }
  bool to_stdout() const { return !owned_; }

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  LineSink(std::FILE* f, bool owned, std::string name)
      : file_(f), owned_(owned), name_(std::move(name)) {
    buffer_.reserve(kFlushAt + 4096);
  }
  std::FILE* file_;
  bool owned_;
  std::string name_;
  std::string buffer_;
  std::uint64_t bytes_ = 0;
  bool failed_ = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ------------------------------------------------------------ municipalities

int cmd_municipalities(const PopulationArgs& a, Output& out) {
  auto p = make_population(a);
  if (!p) return fail(out, p.error());
  const Geography& g = p->geography();
  json list = json::array();
  for (std::size_t m : p->municipalities()) {
    const Municipality& mu = g[m];
    const Prefecture& pref = prefectures()[static_cast<std::size_t>(mu.prefecture - 1)];
    const auto residents = p->range_of(m).count;
    list.push_back({{"code", mu.code},
                    {"name", mu.name},
                    {"kind", to_string(mu.kind)},
                    {"prefecture_code", pref.code},
                    {"prefecture_name", pref.name},
                    {"prefecture_server_code", prefecture_server_code(pref.code)},
                    {"residents", residents}});
    out.text << mu.code << "  " << pref.name << " " << mu.name << "  " << residents << "\n";
  }
  out.doc = {{"ok", true},
             {"seed", a.seed},
             {"residents", p->size()},
             {"municipalities", std::move(list)}};
  out.text << p->municipalities().size() << " municipalities, " << p->size() << " residents\n";
  return kExitOk;
}

// ------------------------------------------------------------ residents

struct StreamArgs {
  std::string municipality, out;
  bool progress = false;
};

int report_written(const StreamArgs& s, const LineSink& sink, std::uint64_t lines, double secs,
                   Output& out) {
  out.doc = {{"ok", true}, {"lines", lines}, {"bytes", sink.bytes()}, {"seconds", secs}};
  if (!sink.to_stdout()) {
    out.doc["file"] = s.out;
    out.text << lines << " lines (" << sink.bytes() << " bytes) written to " << s.out << "\n";
  }
  return kExitOk;
}

int cmd_residents(const PopulationArgs& a, const StreamArgs& s, Output& out) {
  auto p = make_population(a);
  if (!p) return fail(out, p.error());
  auto only = only_municipality(*p, s.municipality);
  if (!only) return fail(out, only.error());
  auto sink = LineSink::open(s.out);
  if (!sink) return fail(out, sink.error());
  std::uint64_t first = 0, end = p->size();
  if (*only) {
    first = p->range_of(**only).first;
    end = first + p->range_of(**only).count;
  }
  const Date base = p->config().base_date;
  const auto t0 = std::chrono::steady_clock::now();
  std::string report = report_id(base, 0);
  const std::size_t number_at = report.find('-') + 1;
  std::size_t current = p->geography().size();
  std::uint64_t municipality_first = 0, lines = 0;
  std::string& buffer = sink->buffer();
  p->for_each(first, end, [&](const Resident& r) {
    if (r.municipality != current) {
      current = r.municipality;
      municipality_first = p->range_of(current).first;
    }
    // The report id: the base date and the resident's number in its municipality.
    std::string number = std::to_string(r.index - municipality_first + 1);
    report.resize(number_at);
    if (number.size() < 6) report.append(6 - number.size(), '0');
    report += number;
    append_json_line(buffer, report, p->geography()[current].code, Reason::code_entry, base, r);
    sink->maybe_flush();
    if (s.progress && ++lines % 1'000'000 == 0)
      std::cerr << "\rjuki-population: " << lines << " / " << end - first << " residents, "
                << static_cast<std::uint64_t>(lines / seconds_since(t0)) << "/s" << std::flush;
  });
  lines = end - first;
  if (auto ok = sink->finish(); !ok) return fail(out, ok.error());
  const double secs = seconds_since(t0);
  if (s.progress)
    std::cerr << "\rjuki-population: " << lines << " residents in " << secs << " s ("
              << static_cast<std::uint64_t>(lines / secs) << "/s, " << sink->bytes() << " bytes)\n";
  return report_written(s, *sink, lines, secs, out);
}

// ------------------------------------------------------------ resident

int cmd_resident(const PopulationArgs& a, std::optional<std::uint64_t> index,
                 const std::string& code, Output& out) {
  auto p = make_population(a);
  if (!p) return fail(out, p.error());
  if (!code.empty()) {
    const auto i = p->index_of(code);
    if (!i)
      return fail(out, usage("--code: not a resident code (11 digits, check digit): " + code));
    if (*i >= p->size())
      return fail(out, {kExitRefused, "not_in_population",
                        "resident code " + code + " is not of this population (index " +
                            std::to_string(*i) + ")"});
    index = *i;
  }
  if (!index || *index >= p->size())
    return fail(out, usage("--index must be below " + std::to_string(p->size())));
  const Resident r = p->resident(*index);
  std::string line;
  const auto number = r.index - p->range_of(r.municipality).first + 1;
  append_json_line(line, report_id(p->config().base_date, number),
                   p->geography()[r.municipality].code, Reason::code_entry, p->config().base_date,
                   r);
  out.doc = json::parse(line);
  out.doc["ok"] = true;
  out.doc["index"] = r.index;
  out.doc["household"] = r.household;
  out.text << line;
  return kExitOk;
}

// ------------------------------------------------------------ changes

int cmd_changes(const PopulationArgs& a, const StreamArgs& s, const std::string& day_text, int days,
                Output& out) {
  auto p = make_population(a);
  if (!p) return fail(out, p.error());
  const auto day = Date::parse(day_text);
  if (!day) return fail(out, usage("--day: " + day.error()));
  if (*day < p->config().base_date)
    return fail(
        out, usage("--day must not be before the base date " + p->config().base_date.to_string()));
  if (days < 1 || days > 36600) return fail(out, usage("--days must be from 1 to 36600"));
  // The last day checked here, so that every day of the loop is a Date.
  if (auto last = day->plus_days(days - 1); !last)
    return fail(out, usage("--days: " + last.error()));
  auto only = only_municipality(*p, s.municipality);
  if (!only) return fail(out, only.error());
  auto sink = LineSink::open(s.out);
  if (!sink) return fail(out, sink.error());
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t lines = 0, events = 0, dropped = 0;
  std::string& buffer = sink->buffer();
  for (int d = 0; d < days; ++d) {
    const Date date = day->plus_days(d).value();
    auto stats = for_each_change(*p, date, [&](const ChangeReport& c) {
      if (*only && c.municipality != **only) return;
      append_json_line(p->geography(), c, buffer);
      ++lines;
      sink->maybe_flush();
    });
    if (!stats) return fail(out, usage(stats.error().message));
    events += stats->events;
    dropped += stats->dropped;
    if (s.progress)
      std::cerr << "\rjuki-population: " << date << ", " << lines << " lines" << std::flush;
  }
  if (auto ok = sink->finish(); !ok) return fail(out, ok.error());
  const double secs = seconds_since(t0);
  if (s.progress)
    std::cerr << "\rjuki-population: " << days << " days, " << lines << " lines (" << events
              << " changes, " << dropped << " dropped) in " << secs << " s\n";
  const int code = report_written(s, *sink, lines, secs, out);
  out.doc["days"] = days;
  out.doc["changes"] = events;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "A deterministic synthetic population of Japan (1,741 municipalities, residents in "
      "households) and its daily changes, as JSON Lines in the CS import format "
      "(backend/population/report.hpp). The same seed gives the same bytes everywhere.\n"
      "Exit status: 0 ok, 1 refused (not in this population), 2 usage, 3 I/O.",
      "juki-population"};
  app.require_subcommand(1);
  app.fallthrough();
  bool as_json = false;
  app.add_flag("--json", as_json,
               "Print one JSON document on stdout (the list, the resident, or with --out the "
               "summary)");

  PopulationArgs pa;
  StreamArgs sa;

  auto* municipalities = app.add_subcommand(
      "municipalities",
      "The municipalities: code, name, prefecture, and residents for --residents (the "
      "geography is the same for every seed)");
  add_population_options(municipalities, pa, false);

  auto* residents = app.add_subcommand(
      "residents", "The residents as code_entry lines dated --base-date (a CS's initial import)");
  add_population_options(residents, pa, true);
  residents->add_option("--municipality", sa.municipality,
                        "Only this municipality's residents (6-digit code)");
  residents->add_option("--out", sa.out, "Write the lines here instead of stdout (- for stdout)");
  residents->add_flag("--progress", sa.progress, "Progress and speed on stderr");

  auto* resident = app.add_subcommand(
      "resident", "One resident, regenerated from its index or its code (a code_entry line)");
  add_population_options(resident, pa, true);
  std::optional<std::uint64_t> index;
  std::string code;
  auto* by_index = resident->add_option("--index", index, "The resident's index, from 0");
  resident->add_option("--code", code, "The resident's code (11 digits)")->excludes(by_index);

  auto* changes = app.add_subcommand(
      "changes",
      "The change reports of --day (and the --days - 1 days after it) at Japan's annual rates");
  add_population_options(changes, pa, true);
  std::string day;
  int days = 1;
  changes->add_option("--day", day, "The first day, YYYY-MM-DD, not before --base-date")
      ->required();
  changes->add_option("--days", days, "How many days, 1 to 36600 (none past 9999-12-31)")
      ->capture_default_str();
  changes->add_option("--municipality", sa.municipality,
                      "Only this municipality's reports (numbered as in the full stream)");
  changes->add_option("--out", sa.out, "Write the lines here instead of stdout (- for stdout)");
  changes->add_flag("--progress", sa.progress, "Progress on stderr");

  if (auto status = host::cli::parse_command_line(app, argc, argv)) return *status;

  Output out("juki-population");
  int status = kExitUsage;
  if (municipalities->parsed()) {
    status = cmd_municipalities(pa, out);
  } else if (resident->parsed()) {
    status = cmd_resident(pa, index, code, out);
  } else {
    status = residents->parsed() ? cmd_residents(pa, sa, out) : cmd_changes(pa, sa, day, days, out);
    // The lines went to stdout: nothing else may, but a failure's JSON.
    if ((sa.out.empty() || sa.out == "-") && status == kExitOk) return status;
  }
  return host::cli::finish(out, as_json, status);
}
