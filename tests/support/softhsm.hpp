// SoftHSM2 tokens for tests and benchmarks: one token directory per process
// (SoftHSM reads its configuration once, when a process first loads it), made
// before anything loads the module, with P-256 keys made in the tokens by
// pkcs11-tool. SOFTHSM2_CONF is set for this process and the programs it
// starts. Throws std::runtime_error when a token cannot be made.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"

namespace juki::test {

class SoftHsm {
 public:
  // Two tokens: "juki-test" (user PIN kPin) with the P-256 keys "signing-1"
  // to "signing-4", and "juki-other" (PIN "5555") with "signing-1".
  static constexpr const char* kPin = "246810";
  static const SoftHsm& instance() {
    static const SoftHsm hsm;
    return hsm;
  }

  // The RFC 7512 URI of a key, its PIN in a file only its owner may read.
  std::string uri(const std::string& object, const std::string& token = "juki-test") const {
    return "pkcs11:token=" + token + ";object=" + object + "?pin-source=file:" + pin_file(token);
  }
  std::string pin_file(const std::string& token) const { return dir_.file(token + ".pin"); }

 private:
  SoftHsm() {
    const std::string conf = dir_.file("softhsm2.conf");
    std::filesystem::create_directory(dir_.file("tokens"));
    std::ofstream(conf) << "directories.tokendir = " << dir_.file("tokens")
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    make_token("juki-test", kPin, 4);
    make_token("juki-other", "5555", 1);
  }

  void make_token(const std::string& label, const std::string& pin, int keys) {
    sh("softhsm2-util --init-token --free --label " + label + " --pin " + pin +
       " --so-pin 97531 >/dev/null");
    for (int i = 1; i <= keys; ++i)
      sh("pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label " + label +
         " --login --pin " + pin + " --keypairgen --key-type EC:prime256v1 --label signing-" +
         std::to_string(i) + " --id 0" + std::to_string(i) + " >/dev/null");
    const std::string file = pin_file(label);
    std::ofstream(file) << pin << "\n";
    ::chmod(file.c_str(), 0600);
  }

  static void sh(const std::string& command) {
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  TempDir dir_;
};

}  // namespace juki::test
