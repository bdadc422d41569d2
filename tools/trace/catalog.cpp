// Which tests carry which [req:ID] tags, as the test programs themselves say,
// and which sections the conformance scripts have.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <regex>
#include <set>

#include "tools/trace/trace.hpp"

extern char** environ;

namespace juki::trace {
namespace {

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string line(text.substr(pos, end - pos));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

}  // namespace

std::vector<Program> parse_manifest(std::string_view text, std::vector<Problem>& problems) {
  std::vector<Program> programs;
  std::size_t n = 0;
  for (const std::string& line : lines_of(text)) {
    ++n;
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) {
      problems.push_back({"manifest:" + std::to_string(n), "not TARGET<TAB>PATH: " + line});
      continue;
    }
    programs.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return programs;
}

std::optional<std::string> run_program(const std::string& path,
                                       const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<std::string> argv_storage{path};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return std::nullopt;
  }
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(fds[0], buffer, sizeof buffer);
    if (got > 0) {
      out.append(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // posix_spawn reports a missing program through the child: it exits 127.
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) return std::nullopt;
  return out;
}

std::vector<std::string> req_ids_in_tag_list(std::string_view list_tags_output) {
  static const std::regex tag(R"(\[req:([^\]\s]+)\])", std::regex::icase);
  std::set<std::string> ids;
  const std::string text(list_tags_output);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tag); it != std::sregex_iterator();
       ++it)
    ids.insert(normalized_id((*it)[1].str()));
  return {ids.begin(), ids.end()};
}

Catalog list_tagged_tests(const std::vector<Program>& programs, const RunProgram& run) {
  Catalog catalog;
  for (const Program& p : programs) {
    const auto tags = run(p.path, {"--list-tags"});
    if (!tags) {
      catalog.problems.push_back(
          {p.path, "cannot run the test program " + p.target + " (is it built?)"});
      continue;
    }
    for (const std::string& id : req_ids_in_tag_list(*tags)) {
      const auto names = run(p.path, {"[req:" + id + "]", "--list-test-names-only", "-v", "high"});
      if (!names) {
        catalog.problems.push_back({p.path, "cannot list the tests of " + p.target});
        break;
      }
      for (std::string line : lines_of(*names)) {
        if (line.empty()) continue;
        TestCase t{p.target, line, ""};
        // -v high appends "\t@FILE:LINE"; names never hold a tab (CTest's
        // names are these lines as they are).
        if (const std::size_t at = line.rfind("\t@"); at != std::string::npos) {
          t.name = line.substr(0, at);
          t.location = line.substr(at + 2);
        }
        // Catch2 quotes the names that start with '#', and CTest has them bare.
        if (t.name.size() >= 2 && t.name.front() == '"' && t.name[1] == '#' && t.name.back() == '"')
          t.name = t.name.substr(1, t.name.size() - 2);
        catalog.by_id[id].push_back(std::move(t));
      }
    }
  }
  return catalog;
}

std::optional<std::map<std::string, std::size_t>> script_sections(
    const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::map<std::string, std::size_t> sections;
  std::string line;
  std::size_t n = 0;
  // specs/apdu-script.md: "== TITLE" starts a section, TITLE the rest of the
  // line, trimmed.
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("==", 0) != 0) continue;
    std::string title = line.substr(2);
    const auto first = title.find_first_not_of(" \t");
    const auto last = title.find_last_not_of(" \t");
    if (first == std::string::npos) continue;
    title = title.substr(first, last - first + 1);
    sections.emplace(title, n);
  }
  return sections;
}

}  // namespace juki::trace
