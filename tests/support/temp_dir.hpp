// A fresh directory under /tmp for one test (or benchmark), removed with
// everything in it. Throws std::runtime_error when it cannot be made.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace juki::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string templ = "/tmp/juki-test-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
      throw std::runtime_error("cannot make a directory under /tmp");
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace juki::test
