// juki-demo: the life of one card, in-process, with every APDU shown.
// A blank card image is made, personalized with APDUs, activated by the
// resident's password, used, locked by three wrong passwords, and re-set at
// the window. The card image is a file, so each "visit" powers the card anew.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/system_random.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/pcsc/pcsc.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/transport/tracing.hpp"
#include "simulator/blank_card.hpp"
#include "simulator/in_process.hpp"

using namespace juki;

namespace {

const char* kUsage =
    "usage: juki-demo [--image PATH] [--keep] [--pcsc [READER]] [--trace-secrets] [--help]\n"
    "\n"
    "Runs the life of one simulated Juki card in-process and prints every APDU\n"
    "and response with the meaning of its status word:\n"
    "  manufacture (transport-locked) -> personalization -> issued -> activation\n"
    "  -> use at a window -> password locked after 3 wrong tries -> window re-set.\n"
    "\n"
    "  --image PATH     card image file to create (default: a temporary file)\n"
    "  --keep           keep the image file afterwards\n"
    "  --pcsc [R]       drive the card through PC/SC: the image goes into juki-card-sim\n"
    "                   (started here, next to this program) and the demo talks to it\n"
    "                   through pcscd and vsmartcard-vpcd, in reader R (default: the\n"
    "                   first of $JUKI_PCSC_READERS, as scripts/with-pcscd sets it)\n"
    "  --trace-secrets  show the PINs, keys and key proofs commands carry (default:\n"
    "                   their data redacted, XX per byte)\n"
    "\n"
    "Exit status: 0 when every step behaved as the specification says, 1 otherwise.\n";

int failures = 0;

void power_cycle(juki::Transport& t) {
  if (auto r = t.power_cycle(); !r) {
    ++failures;
    std::cout << "   !! power cycle failed: " << r.error().message << "\n";
  }
}

void heading(const std::string& title) {
  std::cout << "\n== " << title << "\n";
}
void say(const std::string& text) {
  std::cout << "   " << text << "\n";
}

// Sends a command and checks the status word the story expects.
Bytes step(juki::Transport& t, const std::string& hex, sw::Sw want) {
  Bytes cmd = *from_hex(hex);
  auto r = t.transmit(cmd);
  if (!r) {
    ++failures;
    say("!! transport error: " + r.error().message);
    return {};
  }
  const auto got = static_cast<sw::Sw>((*r)[r->size() - 2] << 8 | r->back());
  if (got != want) {
    ++failures;
    char s[64];
    std::snprintf(s, sizeof s, "!! expected %04X, got %04X", want, got);
    say(s);
  }
  return Bytes(r->begin(), r->end() - 2);
}

// juki-card-sim: beside juki-demo when installed, in the build tree's
// simulator/ when run from it; otherwise by name on the PATH.
std::filesystem::path simulator_program() {
  const std::filesystem::path here = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (const std::filesystem::path& p :
       {here / "juki-card-sim", here.parent_path() / "simulator" / "juki-card-sim"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return "juki-card-sim";
}

// juki-card-sim as a child process, holding the image in slot 0.
struct Simulator {
  pid_t pid = -1;
  std::string socket;
  bool start(const std::string& image, const std::string& port_base) {
    const std::filesystem::path exe = simulator_program();
    socket = image + ".sock";
    pid = fork();
    if (pid < 0) {
      std::perror("juki-demo: fork");
      return false;
    }
    if (pid == 0) {
      const std::string card = "0=" + image;
      execlp(exe.c_str(), "juki-card-sim", "--quiet", "--socket", socket.c_str(), "--port-base",
             port_base.c_str(), "--card", card.c_str(), static_cast<char*>(nullptr));
      std::perror(("juki-demo: " + exe.string()).c_str());
      _exit(127);
    }
    return true;
  }
  ~Simulator() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

std::string text_of(const Bytes& b) {
  std::string s;
  for (std::uint8_t c : b)
    if (c >= 0x20 && c < 0x7F) s.push_back(static_cast<char>(c));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string image;
  bool keep = false;
  bool pcsc = false;
  std::string reader;
  auto secrets = apdu_text::Secrets::redact;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--trace-secrets") {
      secrets = apdu_text::Secrets::show;
    } else if (a == "--image" && i + 1 < argc) {
      image = argv[++i];
    } else if (a == "--pcsc") {
      pcsc = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') reader = argv[++i];
    } else {
      std::cerr << "juki-demo: unknown argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  if (image.empty())
    image = (std::filesystem::temp_directory_path() /
             ("juki-demo-" + std::to_string(getpid()) + ".img"))
                .string();

  const Bytes transport_key = *from_hex("404142434445464748494A4B4C4D4E4F");
  const Bytes admin_key = *from_hex("000102030405060708090A0B0C0D0E0F");
  const Bytes reset_key = *from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");

  heading("1. The chip factory makes a blank card (transport-locked)");
  card_os::FactoryProfile profile;
  profile.transport_key = transport_key;
  juki::SystemRandom random;
  auto storage = sim::create_blank_image(image, profile, random);
  if (!storage) {
    std::cerr << "juki-demo: " << storage.error() << "\n";
    return 2;
  }
  say("card image: " + image + " (" + std::to_string((*storage)->size()) + " bytes, " +
      std::to_string(profile.geometry.capacity / 1024) + " KiB of card memory)");
  std::unique_ptr<juki::Transport> card;
  Simulator sim;
  std::optional<host::pcsc::PcscContext> context;
  if (pcsc) {
    storage->reset();  // the simulator holds the image from now on
    const char* base = std::getenv("JUKI_VPCD_PORT_BASE");
    if (!sim.start(image, base ? base : "35963")) return 2;
    if (reader.empty()) {
      const char* names = std::getenv("JUKI_PCSC_READERS");
      std::string first = names ? std::string(names).substr(0, std::string(names).find('\n')) : "";
      reader = first.empty() ? "Juki Sim 0 00 00" : first;
    }
    auto ctx = host::pcsc::PcscContext::establish();
    if (!ctx) {
      std::cerr << "juki-demo: " << ctx.error().message << "\n";
      return 2;
    }
    context.emplace(std::move(*ctx));
    say("simulator started (pid " + std::to_string(sim.pid) + "); waiting for the card in \"" +
        reader + "\" through pcscd");
    if (auto w = context->wait_for_card(reader, std::chrono::seconds(15)); !w) {
      std::cerr << "juki-demo: " << w.error().message << "\n";
      return 2;
    }
    auto connected = host::pcsc::PcscTransport::connect(*context, reader);
    if (!connected) {
      std::cerr << "juki-demo: " << connected.error().message << "\n";
      return 2;
    }
    card = std::move(*connected);
  } else {
    auto connected = juki::sim::InProcessTransport::connect(**storage, random, "demo card");
    if (!connected) {
      std::cerr << "juki-demo: " << connected.error().message << "\n";
      return 2;
    }
    card = std::move(*connected);
  }
  host::TracingTransport t(*card, std::cout, secrets);
  say("card: " + card->describe());
  say("ATR " + to_hex(card->atr(), true) + "  (last byte before TCK: life cycle 01 = creation)");

  heading("2. Everything is refused until the transport key is proved");
  step(t, "00A4000C023F00", 0x6985);
  step(t, "00B0000010", 0x6985);
  say("a wrong transport key costs one of its 10 attempts:");
  {
    Bytes challenge = step(t, "0084000010", 0x9000);
    Bytes wrong(16, 0x00);
    step(t, "0082000110" + to_hex(*host::crypto::aes_cmac(wrong, challenge)), 0x63C9);
  }

  heading("3. The issuance station personalizes the card with APDUs");
  if (auto r = host::perso::personalize_sample(t, {transport_key, admin_key, reset_key}); !r) {
    ++failures;
    say("!! personalization failed: " + r.error().describe());
  }
  step(t, "00CADF2000", 0x9000);
  say("the card is issued: personalized, but unusable until the resident sets a password");
  power_cycle(t);
  step(t, "00A4040C09F04A554B4944454D4F", 0x9000);
  step(t, "00B0000010", 0x6985);

  heading("4. At the counter, the resident sets the password 1234: the card becomes active");
  step(t, "00240181 04 31323334", 0x9000);
  step(t, "00CADF2000", 0x9000);

  heading("5. At a window: select, read, verify the password, read the protected file");
  power_cycle(t);
  step(t, "00A4040C09F04A554B4944454D4F", 0x9000);
  step(t, "00A40204025001 00", 0x9000);
  say("public file: \"" + text_of(step(t, "00B0000020", 0x9000)) + "\"");
  step(t, "00A4020C025002", 0x9000);
  step(t, "00B0000000", 0x6982);
  step(t, "00200081", 0x63C3);
  step(t, "00200081 04 31323334", 0x9000);
  say("protected file: \"" + text_of(step(t, "00B0000020", 0x9000)) + "\"");
  step(t, "00B2011C00", 0x9000);

  heading("6. Three wrong passwords lock the card; power cycles do not help");
  power_cycle(t);
  step(t, "00A4040C09F04A554B4944454D4F", 0x9000);
  step(t, "00200081 04 39393939", 0x63C2);
  step(t, "00200081 04 30303030", 0x63C1);
  step(t, "00200081 04 31313131", 0x63C0);
  step(t, "00200081 04 31323334", 0x6983);
  power_cycle(t);
  step(t, "00A4040C09F04A554B4944454D4F", 0x9000);
  step(t, "00200081", 0x6983);
  step(t, "00200081 04 31323334", 0x6983);

  heading("7. The window re-sets the password after an identity check");
  say("the window proves the application's reset key, then sets the new password 5678:");
  {
    Bytes challenge = step(t, "0084000010", 0x9000);
    step(t, "0082008310" + to_hex(*host::crypto::aes_cmac(reset_key, challenge)), 0x9000);
  }
  step(t, "002C0281 04 35363738", 0x9000);
  step(t, "00200081", 0x63C3);
  step(t, "00200081 04 35363738", 0x9000);
  step(t, "00A4020C025002", 0x9000);
  say("protected file: \"" + text_of(step(t, "00B0000020", 0x9000)) + "\"");

  heading(failures == 0 ? "The card behaved as specified."
                        : "Some steps did not behave as specified.");
  if (!keep)
    std::filesystem::remove(image);
  else
    say("image kept: " + image);
  return failures == 0 ? 0 : 1;
}
