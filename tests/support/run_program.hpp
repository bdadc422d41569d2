// Runs a project executable as a user would, for the tests of command-line
// tools: arguments, stdin and environment in; exit code, stdout and stderr out.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace juki::test {

struct Run {
  int exit = -1;
  std::string out, err;
  nlohmann::json doc() const {
    INFO("stdout: " << out << "\nstderr: " << err);
    REQUIRE(nlohmann::json::accept(out));
    return nlohmann::json::parse(out);
  }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `s` as one word for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `program` with `args`, `input` on its stdin, and `env` (NAME=value
// words) in its environment; its files go in `dir`.
inline Run run(const TempDir& dir, const std::string& program, const std::vector<std::string>& args,
               const std::string& input = "", const std::string& env = "") {
  {
    std::ofstream in(dir.file("stdin"), std::ios::binary);
    in << input;
  }
  std::string cmd = env + " " + quote(program);
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " <" + quote(dir.file("stdin")) + " >" + quote(dir.file("stdout")) + " 2>" +
         quote(dir.file("stderr"));
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  Run r{WEXITSTATUS(status), slurp(dir.file("stdout")), slurp(dir.file("stderr"))};
  UNSCOPED_INFO(program << " exit " << r.exit << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

}  // namespace juki::test
