// juki-make-manager-conformance: writes specs/conformance/lib/card-manager.apdu,
// the signed material of the card manager's conformance script
// (specs/conformance/10-card-manager.apdu). An authorization is signed for one
// card serial, and signatures cannot be written by hand, so a PKI is made once
// here and its certificates and signatures are fixed in the file as data:
//
//   - the card manager's personalization APDUs (its DF, the root as its trust
//     anchor, municipality 131016, counter 0, 8 registry entries), recorded
//     from issuer_tool/enrolment against an in-process card;
//   - commands INSTALL, DELETE, LOCK and UNLOCK of the three example
//     applications (issuer_tool/apps/examples.hpp) for the card SERIAL, signed
//     by the app-authority of 131016, with the sequence numbers the script
//     uses, and the refusals' commands (other card, other municipality, a
//     window terminal's key, another PKI, a bad signature, a changed manifest,
//     over quota, a malformed manifest).
//
//   juki-make-manager-conformance [--serial HEX] OUT
//
// The default serial is the reference runner's in-process card (juki-script)
// and the one the e2e conformance scenario gives its cards. A vendor whose
// card has another serial regenerates the file for it. Exit codes: 0 written,
// 2 usage, 3 a step failed.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/apps/manifest.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "pki/pki.hpp"
#include "simulator/in_process.hpp"

using namespace juki;
namespace cm = juki::card_manager;

namespace {

constexpr const char* kMunicipality = "131016";
constexpr const char* kOtherMunicipality = "132012";  // Hachioji
constexpr const char* kTransportKey = "404142434445464748494A4B4C4D4E4F";

struct Failure {
  std::string what;
};

template <class T, class E>
T take(Result<T, E> r, const std::string& what) {
  if (!r) throw Failure{what};
  return std::move(*r);
}
template <class E>
void take(Result<void, E> r, const std::string& what) {
  if (!r) throw Failure{what};
}

// Records every exchange of the transport it wraps.
class Recorder final : public juki::Transport {
 public:
  explicit Recorder(juki::Transport& inner) : inner_(inner) {}
  Result<Bytes, juki::TransportError> transmit(ByteView command) override {
    auto r = inner_.transmit(command);
    if (r) log.emplace_back(Bytes(command.begin(), command.end()), *r);
    return r;
  }
  Result<Bytes, juki::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }
  std::vector<std::pair<Bytes, Bytes>> log;

 private:
  juki::Transport& inner_;
};

// Hex in lines of at most 64 bytes, continued with `set` of the same name.
void put_set(std::ostream& out, const std::string& name, ByteView value) {
  constexpr std::size_t kLine = 64;
  for (std::size_t at = 0; at < value.size(); at += kLine) {
    out << "set " << name << ' ';
    if (at != 0) out << '$' << name << ' ';
    out << to_hex(value.subspan(at, std::min(kLine, value.size() - at))) << '\n';
  }
}

cm::Authority authority(const pki::KeyAndCert& ca, pki::Role role, const std::string& municipality,
                        const std::string& name) {
  pki::LeafRequest request;
  request.authorization.role = role;
  request.authorization.municipality = municipality;
  request.common_name = name;
  request.days = 36500;  // the card's date only moves with certificates it accepts
  auto leaf = take(pki::issue_new_key(ca, request), "key and certificate of " + name);
  return {leaf.key, leaf.cert, ca.cert};
}

cm::Manifest manifest(cm::Operation op, ByteView serial, std::uint32_t sequence,
                      const cm::Application& app) {
  cm::Manifest m;
  m.operation = op;
  m.card_serial.assign(serial.begin(), serial.end());
  m.sequence = sequence;
  m.aid = app.aid;
  if (op == cm::Operation::install) m.application = app;
  return m;
}

void write(std::ostream& out, ByteView serial) {
  const pki::KeyAndCert root = take(pki::create_root(), "root");
  const pki::KeyAndCert terminal_ca =
      take(pki::create_ca(root.key, root.cert, pki::CaKind::terminal), "terminal CA");
  const pki::KeyAndCert other_root = take(pki::create_root(), "other root");
  const pki::KeyAndCert other_ca =
      take(pki::create_ca(other_root.key, other_root.cert, pki::CaKind::terminal), "other CA");
  const cm::Authority city =
      authority(terminal_ca, pki::Role::app_authority, kMunicipality, "application authority");
  const cm::Authority other_city = authority(terminal_ca, pki::Role::app_authority,
                                             kOtherMunicipality, "another city's authority");
  const cm::Authority window = authority(terminal_ca, pki::Role::window, kMunicipality, "window");
  const cm::Authority foreign =
      authority(other_ca, pki::Role::app_authority, kMunicipality, "another PKI's authority");

  // The personalization, recorded against a card in personalization.
  card_os::NvmGeometry geometry;
  card_os::MemoryStorage storage(card_os::PersistentMemory::storage_size_for(geometry));
  card_os::DrbgRandom random(as_bytes(std::string("card-manager conformance")));
  card_os::FactoryProfile profile;
  profile.geometry = geometry;
  profile.transport_key = *from_hex(kTransportKey);
  profile.serial.assign(serial.begin(), serial.end());
  if (!card_os::Card::manufacture(storage, profile, random)) throw Failure{"manufacture"};
  auto card = take(juki::sim::InProcessTransport::connect(storage, random), "connect");
  // The transport key's session protects what is recorded; the file holds
  // the plain commands, which a script sends under its own `session`.
  host::perso::Personalizer session(*card);
  take(session.authenticate(*from_hex(kTransportKey)), "transport key");
  Recorder recorder(session.transport());
  host::perso::Personalizer perso(recorder);
  take(enrolment::enrol_card_manager(perso, root.cert, {kMunicipality}), "card manager");

  out << "# Generated by juki-make-manager-conformance "
         "(tests/support/make_manager_conformance.cpp)\n"
         "# for the card with serial "
      << to_hex(serial)
      << ". Do not edit: regenerate. Its PKI was made once, for\n"
         "# this file: a root (the card manager's trust anchor), its terminal CA, and\n"
         "# another root with its own terminal CA. Included by 10-card-manager.apdu\n"
         "# while the card is in personalization, under its personalization session.\n\n"
         "== Personalize the card manager: DF 4D00, trust anchor, municipality "
      << kMunicipality << ", counter 0, 8 entries\n";
  for (const auto& [command, response] : recorder.log)
    out << "> " << to_hex(command) << "\n< " << to_hex(response) << '\n';

  const cm::Application seal = cm::seal_registration();
  const cm::Application library = cm::library_card();
  const cm::Application kiosk = cm::kiosk_access();
  auto command = [&](const std::string& name, const std::string& what, const cm::Authority& a,
                     const cm::Manifest& m,
                     const std::function<void(Bytes & manifest, Bytes & signature)>& change = {}) {
    Bytes encoded = cm::encode(m);
    Bytes signature = take(cm::sign(a.key, encoded), "signature " + name);
    if (change) change(encoded, signature);
    const Bytes data = cm::command_data(encoded, signature, a.cert.der(), a.ca.der());
    out << "\n# " << name << ": " << what << '\n';
    put_set(out, name, cm::command(m.operation, data));
  };
  using Op = cm::Operation;
  out << "\n# Authorizations for the card " << to_hex(serial) << ", signed by the app-authority of "
      << kMunicipality
      << " (unless said otherwise), as\n"
         "# extended-length commands (INSTALL with Le 0000: the keys' public points).\n";
  command("INSTALL_SEAL", "install seal registration (F0 JUKISEAL, DF 5100), sequence 1", city,
          manifest(Op::install, serial, 1, seal));
  command("INSTALL_LIB", "install library card (F0 JUKILIB, DF 5200), sequence 2", city,
          manifest(Op::install, serial, 2, library));
  command("LOCK_SEAL", "lock seal registration, sequence 3", city,
          manifest(Op::lock, serial, 3, seal));
  command("UNLOCK_SEAL", "unlock seal registration, sequence 4", city,
          manifest(Op::unlock, serial, 4, seal));
  command("DELETE_LIB", "delete library card, sequence 5", city,
          manifest(Op::remove, serial, 5, library));
  command("INSTALL_KIOSK", "install certificate kiosk access (F0 JUKIKIOSK, DF 5300), sequence 6",
          city, manifest(Op::install, serial, 6, kiosk));
  command("LOCK_SEAL_AGAIN", "lock seal registration, sequence 7", city,
          manifest(Op::lock, serial, 7, seal));
  command("DELETE_SEAL", "delete seal registration (locked), sequence 8", city,
          manifest(Op::remove, serial, 8, seal));

  out << "\n# Refused: each would be good but for what its comment says.\n";
  Bytes other_serial(serial.begin(), serial.end());
  other_serial.back() ^= 0x01;
  command("X_OTHER_CARD",
          "install library card for the card " + to_hex(other_serial) + ", sequence 20", city,
          manifest(Op::install, other_serial, 20, library));
  command("X_OTHER_CITY", std::string("signed by the app-authority of ") + kOtherMunicipality,
          other_city, manifest(Op::install, serial, 20, library));
  command("X_WINDOW", "signed by a window terminal's key (role window)", window,
          manifest(Op::install, serial, 20, library));
  command("X_FOREIGN", "signed by an app-authority of another PKI (another root)", foreign,
          manifest(Op::install, serial, 20, library));
  command("X_BAD_SIGNATURE", "the signature's last byte changed", city,
          manifest(Op::install, serial, 20, library),
          [](Bytes&, Bytes& signature) { signature.back() ^= 0x01; });
  command("X_CHANGED", "the manifest's quota changed after signing (1024 -> 1280)", city,
          manifest(Op::install, serial, 20, library), [&](Bytes& encoded, Bytes&) {
            // 84 04 00 00 04 00: quota 1024, the only such run in the manifest
            const Bytes quota = {0x84, 0x04, 0x00, 0x00, 0x04, 0x00};
            auto at = std::search(encoded.begin(), encoded.end(), quota.begin(), quota.end());
            if (at == encoded.end()) throw Failure{"the library card's quota"};
            at[4] = 0x05;
          });
  cm::Application small = library;
  small.quota = cm::allocation(library) - 4;
  command("X_OVER_QUOTA",
          "install library card with a quota 4 bytes below its count (" +
              std::to_string(small.quota) + "), sequence 20",
          city, manifest(Op::install, serial, 20, small));
  cm::Application system_app;
  system_app.aid = *from_hex("F04A554B49434D");  // the card manager itself
  command("X_DELETE_MANAGER", "delete the card manager (a system application), sequence 20", city,
          manifest(Op::remove, serial, 20, system_app));
  command("X_REPLAY_SEAL", "install seal registration again with sequence 1", city,
          manifest(Op::install, serial, 1, seal));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes the signed material of the card manager's conformance script "
      "(specs/conformance/lib/card-manager.apdu) for one card serial"};
  std::string serial_hex = "0102030405060708", out_path;
  app.add_option("--serial", serial_hex, "The card's serial, GET DATA DF22 (16 hex digits)");
  app.add_option("OUT", out_path, "The file to write")->required();
  CLI11_PARSE(app, argc, argv);
  auto serial = from_hex(serial_hex);
  if (!serial || serial->size() != 8) {
    std::fprintf(stderr, "juki-make-manager-conformance: --serial must be 8 bytes of hex\n");
    return 2;
  }
  std::ofstream out(out_path);
  if (!out) {
    std::fprintf(stderr, "juki-make-manager-conformance: cannot write %s\n", out_path.c_str());
    return 2;
  }
  try {
    write(out, *serial);
  } catch (const Failure& f) {
    std::fprintf(stderr, "juki-make-manager-conformance: %s failed\n", f.what.c_str());
    return 3;
  }
  return out.good() ? 0 : 3;
}
