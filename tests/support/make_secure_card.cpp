// juki-make-secure-card: makes a blank card image (juki-card-sim --create,
// transport key given) into the card of tests/support/secure_layout.hpp,
// enrolled under the PKI that `juki-pki init DIR` made. For the end-to-end
// tests and the terminal's tests, which run the tools as a user would.
//
//   juki-make-secure-card --pki DIR [--jpki] [--transport-key HEX] IMAGE
//
// With --jpki the card also gets the JPKI application (specs/jpki.md) under
// the JPKI CAs of DIR (juki-pki init-jpki DIR): PINs 1234 and ABC123.
//
// Exit codes: 0 done, 2 usage or unreadable PKI files, 3 the image could not
// be opened or the card refused a step.
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "card_os/nvm/storage.hpp"
#include "common/system_random.hpp"
#include "pki/directory.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_layout.hpp"

using namespace juki;

namespace {

int die(int code, const std::string& what) {
  std::fprintf(stderr, "juki-make-secure-card: %s\n", what.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Personalizes a blank card image as the secure-channel test card "
      "(tests/support/secure_layout.hpp), enrolled under a juki-pki PKI"};
  std::string pki_dir, image, transport_key = "404142434445464748494A4B4C4D4E4F";
  app.add_option("--pki", pki_dir, "PKI directory made by juki-pki init")->required();
  app.add_option("--transport-key", transport_key, "The blank card's transport key (hex)");
  bool with_jpki = false;
  app.add_flag("--jpki", with_jpki,
               "Enrol the JPKI application too, under DIR's JPKI CAs (juki-pki init-jpki)");
  app.add_option("IMAGE", image, "Blank card image (juki-card-sim --create)")->required();
  CLI11_PARSE(app, argc, argv);

  auto tk = from_hex(transport_key);
  if (!tk) return die(2, "--transport-key is not hex");
  namespace dir = pki::directory;
  auto root = dir::load_certificate(pki_dir, dir::kRootStem);
  if (!root) return die(2, root.error().message);
  auto card_ca = dir::load_ca(pki_dir, pki::CaKind::card);
  if (!card_ca) return die(2, card_ca.error().message);

  auto storage = juki::sim::FileStorage::open(image);
  if (!storage) return die(3, storage.error());
  juki::SystemRandom random;
  auto t = juki::sim::InProcessTransport::connect(**storage, random, "card image " + image);
  if (!t) return die(3, t.error().message);
  // The admin and reset keys of specs/conformance/lib/sample-card.apdu.
  const host::perso::SampleSecrets secrets{*tk, *from_hex("000102030405060708090A0B0C0D0E0F"),
                                           *from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F")};
  std::optional<pki::KeyAndCert> jpki_auth, jpki_sign;
  if (with_jpki) {
    for (auto [kind, out] :
         {std::pair{pki::JpkiKind::auth, &jpki_auth}, std::pair{pki::JpkiKind::sign, &jpki_sign}}) {
      auto ca = dir::load_jpki_ca(pki_dir, kind);
      if (!ca) return die(2, ca.error().message);
      out->emplace(std::move(*ca));
    }
  }
  std::optional<test::JpkiCas> jpki;
  if (with_jpki) jpki.emplace(test::JpkiCas{*jpki_auth, *jpki_sign});
  auto cert = test::make_secure_card(**t, secrets, *root, *card_ca, jpki);
  if (!cert) return die(3, cert.error().describe());
  std::printf("%s: active, application SEC enrolled%s, card certificate %s\n", image.c_str(),
              with_jpki ? " and JPKI" : "", cert->subject().c_str());
  return 0;
}
