#include "host_middleware/pcsc/pcsc.hpp"

#include <winscard.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <utility>

namespace juki::host::pcsc {

// The header keeps <winscard.h> out of its users' way with plain integer types.
static_assert(std::is_same_v<LONG, long> && std::is_same_v<SCARDCONTEXT, long> &&
              std::is_same_v<SCARDHANDLE, long> && std::is_same_v<DWORD, unsigned long>);

namespace {

// pcsc-lite's pseudo reader that changes state when a reader comes or goes.
constexpr const char* kPnpReader = "\\\\?PnP?\\Notification";

std::string code_hex(long code) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08lX", static_cast<unsigned long>(code) & 0xFFFFFFFFUL);
  return s;
}

std::string explain(long code) {
  switch (code) {
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED: {
      const char* socket = std::getenv("PCSCLITE_CSOCK_NAME");
      return std::string(
                 "the PC/SC service is not running or cannot be reached (is pcscd "
                 "started? socket: ") +
             (socket != nullptr ? std::string(socket) + ", from PCSCLITE_CSOCK_NAME"
                                : std::string("the default one")) +
             ")";
    }
    case SCARD_E_NO_READERS_AVAILABLE:
      return "no smart card reader is connected";
    case SCARD_E_UNKNOWN_READER:
      return "no such reader";
    case SCARD_E_READER_UNAVAILABLE:
      return "the reader is not available (unplugged?)";
    case SCARD_E_NO_SMARTCARD:
      return "there is no card in the reader";
    case SCARD_W_REMOVED_CARD:
      return "the card was removed";
    case SCARD_W_RESET_CARD:
      return "the card was reset by another application";
    case SCARD_E_SHARING_VIOLATION:
      return "the reader is in use by another application (sharing violation)";
    case SCARD_E_TIMEOUT:
      return "timed out";
    case SCARD_E_CANCELLED:
      return "cancelled";
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
      return "the card does not answer";
    case SCARD_E_PROTO_MISMATCH:
      return "the card does not speak the requested protocol";
    case SCARD_F_COMM_ERROR:
    case SCARD_E_COMM_DATA_LOST:
    case SCARD_E_NOT_TRANSACTED:
      return "communication with the card failed";
    default:
      return "PC/SC call failed";
  }
}

DWORD to_dword(Timeout t, std::chrono::steady_clock::time_point deadline) {
  if (!t) return INFINITE;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  // INFINITE itself is a special value; stay below it.
  return static_cast<DWORD>(std::min<long long>(left.count(), 0xFFFFFFFELL));
}

std::string seconds_text(std::chrono::milliseconds t) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3g s", static_cast<double>(t.count()) / 1000.0);
  return s;
}

ReaderState to_state(const SCARD_READERSTATE& s) {
  ReaderState r;
  r.name = s.szReader;
  r.card_present = (s.dwEventState & SCARD_STATE_PRESENT) != 0;
  r.exclusive = (s.dwEventState & SCARD_STATE_EXCLUSIVE) != 0;
  r.in_use = (s.dwEventState & SCARD_STATE_INUSE) != 0;
  r.mute = (s.dwEventState & SCARD_STATE_MUTE) != 0;
  if (r.card_present && !r.mute)
    r.atr.assign(s.rgbAtr, s.rgbAtr + std::min<DWORD>(s.cbAtr, sizeof s.rgbAtr));
  return r;
}

bool gone(const SCARD_READERSTATE& s) {
  return (s.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) != 0;
}

DWORD protocols_of(const ConnectOptions& o) {
  return (o.allow_t0 ? SCARD_PROTOCOL_T0 : 0) | (o.allow_t1 ? SCARD_PROTOCOL_T1 : 0);
}

DWORD share_of(const ConnectOptions& o) {
  return o.share == ShareMode::exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
}

// The readers `filter` names: all for an empty filter, the one of that exact
// name, else those whose names contain it.
std::vector<std::string> matching(const std::vector<std::string>& names, std::string_view filter) {
  if (filter.empty()) return names;
  for (const std::string& n : names)
    if (n == filter) return {n};
  std::vector<std::string> out;
  for (const std::string& n : names)
    if (n.find(filter) != std::string::npos) out.push_back(n);
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

}  // namespace

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::no_service:
      return "no_service";
    case ErrorKind::no_reader:
      return "no_reader";
    case ErrorKind::no_card:
      return "no_card";
    case ErrorKind::card_removed:
      return "card_removed";
    case ErrorKind::card_reset:
      return "card_reset";
    case ErrorKind::sharing_violation:
      return "sharing_violation";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::cancelled:
      return "cancelled";
    case ErrorKind::unresponsive:
      return "unresponsive";
    case ErrorKind::communication:
      return "communication";
    case ErrorKind::other:
      break;
  }
  return "other";
}

ErrorKind classify(long code) {
  switch (code) {
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
      return ErrorKind::no_service;
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
      return ErrorKind::no_reader;
    case SCARD_E_NO_SMARTCARD:
      return ErrorKind::no_card;
    case SCARD_W_REMOVED_CARD:
      return ErrorKind::card_removed;
    case SCARD_W_RESET_CARD:
      return ErrorKind::card_reset;
    case SCARD_E_SHARING_VIOLATION:
      return ErrorKind::sharing_violation;
    case SCARD_E_TIMEOUT:
      return ErrorKind::timeout;
    case SCARD_E_CANCELLED:
      return ErrorKind::cancelled;
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
      return ErrorKind::unresponsive;
    case SCARD_E_PROTO_MISMATCH:
    case SCARD_F_COMM_ERROR:
    case SCARD_E_COMM_DATA_LOST:
    case SCARD_E_NOT_TRANSACTED:
      return ErrorKind::communication;
    default:
      return ErrorKind::other;
  }
}

PcscError make_error(long code, std::string_view operation, std::string_view reader) {
  std::string m(operation);
  if (!reader.empty()) m += " on reader '" + std::string(reader) + "'";
  m += ": " + explain(code) + " [PC/SC: " + pcsc_stringify_error(code) + " " + code_hex(code) + "]";
  return {classify(code), code, std::move(m)};
}

// ---------------------------------------------------------------- context

Result<PcscContext, PcscError> PcscContext::establish() {
  SCARDCONTEXT h = 0;
  const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &h);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "connecting to the PC/SC service"));
  PcscContext c(h);
  c.valid_ = true;
  return c;
}

PcscContext::~PcscContext() {
  if (valid_) SCardReleaseContext(handle_);
}

PcscContext::PcscContext(PcscContext&& other) noexcept
    : handle_(other.handle_), valid_(std::exchange(other.valid_, false)) {}

PcscContext& PcscContext::operator=(PcscContext&& other) noexcept {
  if (this != &other) {
    if (valid_) SCardReleaseContext(handle_);
    handle_ = other.handle_;
    valid_ = std::exchange(other.valid_, false);
  }
  return *this;
}

Result<std::vector<std::string>, PcscError> PcscContext::readers() const {
  // A reader can come between the size query and the fetch: ask again then.
  for (int attempt = 0;; ++attempt) {
    DWORD size = 0;
    LONG rv = SCardListReaders(handle_, nullptr, nullptr, &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "listing the readers"));
    std::string buffer(size, '\0');
    rv = SCardListReaders(handle_, nullptr, buffer.data(), &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv == SCARD_E_INSUFFICIENT_BUFFER && attempt < 3) continue;
    if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "listing the readers"));
    // A multi-string: names separated by NULs, ended by an empty one.
    std::vector<std::string> names;
    for (std::size_t at = 0; at < buffer.size() && buffer[at] != '\0';) {
      std::string name(buffer.c_str() + at);
      at += name.size() + 1;
      names.push_back(std::move(name));
    }
    return names;
  }
}

Result<std::vector<ReaderState>, PcscError> PcscContext::reader_states() const {
  auto names = readers();
  if (!names) return unexpected(names.error());
  std::vector<SCARD_READERSTATE> states(names->size());
  for (std::size_t i = 0; i < names->size(); ++i) {
    states[i] = SCARD_READERSTATE{};
    states[i].szReader = (*names)[i].c_str();
    states[i].dwCurrentState = SCARD_STATE_UNAWARE;
  }
  std::vector<ReaderState> out;
  if (states.empty()) return out;
  const LONG rv =
      SCardGetStatusChange(handle_, 0, states.data(), static_cast<DWORD>(states.size()));
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "reading the readers' states"));
  for (const SCARD_READERSTATE& s : states)
    if (!gone(s)) out.push_back(to_state(s));
  return out;
}

Result<ReaderState, PcscError> PcscContext::reader_state(const std::string& reader) const {
  SCARD_READERSTATE s{};
  s.szReader = reader.c_str();
  s.dwCurrentState = SCARD_STATE_UNAWARE;
  const LONG rv = SCardGetStatusChange(handle_, 0, &s, 1);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "reading the state", reader));
  if (gone(s)) return unexpected(make_error(SCARD_E_UNKNOWN_READER, "reading the state", reader));
  return to_state(s);
}

Result<std::string, PcscError> PcscContext::resolve_reader(std::string_view name) const {
  auto names = readers();
  if (!names) return unexpected(names.error());
  if (names->empty())
    return unexpected(make_error(SCARD_E_NO_READERS_AVAILABLE, "looking for a reader"));
  const std::vector<std::string> matches = matching(*names, name);
  if (matches.size() == 1) return matches.front();
  const std::string operation = name.empty() ? std::string("looking for a reader")
                                             : "looking for reader '" + std::string(name) + "'";
  if (matches.empty()) {
    PcscError e = make_error(SCARD_E_UNKNOWN_READER, operation);
    e.message += "; the readers are " + quoted_list(*names);
    return unexpected(std::move(e));
  }
  // Several candidates (a vpcd has two slots, "... 00 00" and "... 00 01"):
  // the first holding a card; with no name and no card, the first reader,
  // which then reports "no card" to whoever connects.
  auto states = reader_states();
  if (!states) return unexpected(states.error());
  for (const ReaderState& s : *states)
    if (s.card_present && std::find(matches.begin(), matches.end(), s.name) != matches.end())
      return s.name;
  if (name.empty()) return matches.front();
  PcscError e = make_error(SCARD_E_NO_SMARTCARD, operation);
  e.message += "; none of " + quoted_list(matches) + " holds a card";
  return unexpected(std::move(e));
}

Result<ReaderState, PcscError> PcscContext::wait_for_card(std::string_view reader,
                                                          Timeout timeout) const {
  return wait(reader, Want::card, timeout);
}

Result<ReaderState, PcscError> PcscContext::wait_for_removal(std::string_view reader,
                                                             Timeout timeout) const {
  return wait(reader, Want::no_card, timeout);
}

Result<void, PcscError> PcscContext::cancel() const {
  const LONG rv = SCardCancel(handle_);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "cancelling a wait"));
  return {};
}

Result<ReaderState, PcscError> PcscContext::wait(std::string_view reader, Want want,
                                                 Timeout timeout) const {
  const auto deadline =
      std::chrono::steady_clock::now() + (timeout ? *timeout : std::chrono::milliseconds::zero());
  const std::string what =
      std::string(want == Want::card ? "waiting for a card" : "waiting for card removal") +
      (reader.empty() ? std::string() : " in reader '" + std::string(reader) + "'");
  auto timed_out = [&]() {
    PcscError e = make_error(SCARD_E_TIMEOUT, what);
    e.message += "; nothing happened within " + seconds_text(*timeout);
    return e;
  };

  // The watched readers, then pcsc-lite's PnP pseudo reader (so that readers
  // plugged in meanwhile count), with what we last saw of each:
  // SCardGetStatusChange returns when a state differs from dwCurrentState.
  std::vector<std::string> names;
  std::vector<DWORD> seen;
  auto watch = [&]() -> Result<void, PcscError> {
    auto listed = readers();
    if (!listed) return unexpected(listed.error());
    std::vector<std::string> now = matching(*listed, reader);
    if (!reader.empty() && now.empty()) {
      PcscError e =
          make_error(names.empty() ? SCARD_E_UNKNOWN_READER : SCARD_E_READER_UNAVAILABLE, what);
      if (!listed->empty()) e.message += "; the readers are " + quoted_list(*listed);
      return unexpected(std::move(e));
    }
    std::vector<DWORD> now_seen;
    for (const std::string& n : now) {
      const auto at = std::find(names.begin(), names.end(), n);
      now_seen.push_back(at != names.end() ? seen[at - names.begin()] : SCARD_STATE_UNAWARE);
    }
    now_seen.push_back(seen.empty() ? SCARD_STATE_UNAWARE : seen.back());
    now.push_back(kPnpReader);
    names = std::move(now);
    seen = std::move(now_seen);
    return {};
  };
  if (auto ok = watch(); !ok) return unexpected(ok.error());
  ReaderState last_removed;
  last_removed.name = names.size() > 1 ? names.front() : std::string();

  for (;;) {
    std::vector<SCARD_READERSTATE> states(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      states[i] = SCARD_READERSTATE{};
      states[i].szReader = names[i].c_str();
      states[i].dwCurrentState = seen[i];
    }
    const LONG rv = SCardGetStatusChange(handle_, to_dword(timeout, deadline), states.data(),
                                         static_cast<DWORD>(states.size()));
    if (rv == SCARD_E_TIMEOUT) return unexpected(timed_out());
    if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, what));

    const std::size_t pnp = names.size() - 1;
    // The first answer to an unaware PnP entry is no change of readers.
    bool readers_changed =
        seen[pnp] != SCARD_STATE_UNAWARE && (states[pnp].dwEventState & SCARD_STATE_CHANGED) != 0;
    seen[pnp] = states[pnp].dwEventState & ~SCARD_STATE_CHANGED;
    bool any_present = false;
    for (std::size_t i = 0; i < pnp; ++i) {
      const SCARD_READERSTATE& s = states[i];
      if (gone(s)) {
        readers_changed = true;
        continue;
      }
      const bool was_present = (seen[i] & SCARD_STATE_PRESENT) != 0;
      seen[i] = s.dwEventState & ~SCARD_STATE_CHANGED;
      const ReaderState now = to_state(s);
      if (now.card_present && want == Want::card) return now;
      any_present = any_present || now.card_present;
      if (!now.card_present && was_present) last_removed = now;
    }
    if (want == Want::no_card && !any_present && !readers_changed) return last_removed;

    if (readers_changed)
      if (auto ok = watch(); !ok) return unexpected(ok.error());
    if (timeout && std::chrono::steady_clock::now() >= deadline) return unexpected(timed_out());
  }
}

// ---------------------------------------------------------------- transaction

PcscTransaction::~PcscTransaction() {
  if (transport_ != nullptr) (void)end();
}

PcscTransaction::PcscTransaction(PcscTransaction&& other) noexcept
    : transport_(std::exchange(other.transport_, nullptr)) {}

Result<void, PcscError> PcscTransaction::end() {
  PcscTransport* t = std::exchange(transport_, nullptr);
  if (t == nullptr || !t->connected_) return {};
  const LONG rv = SCardEndTransaction(t->card_, SCARD_LEAVE_CARD);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "ending a transaction", t->reader_));
  return {};
}

// ---------------------------------------------------------------- transport

PcscTransport::PcscTransport(const PcscContext& context, std::string reader,
                             const ConnectOptions& options, long card, unsigned long protocol)
    : context_(context),
      reader_(std::move(reader)),
      options_(options),
      card_(card),
      protocol_flag_(protocol),
      protocol_(protocol == SCARD_PROTOCOL_T0 ? 0 : 1) {}

Result<std::unique_ptr<PcscTransport>, PcscError> PcscTransport::connect(
    const PcscContext& context, std::string_view reader, const ConnectOptions& options) {
  auto name = context.resolve_reader(reader);
  if (!name) return unexpected(name.error());
  SCARDHANDLE card = 0;
  DWORD active = 0;
  const LONG rv = SCardConnect(context.handle(), name->c_str(), share_of(options),
                               protocols_of(options), &card, &active);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "connecting to the card", *name));
  std::unique_ptr<PcscTransport> t(
      new PcscTransport(context, std::move(*name), options, card, active));
  if (auto atr = t->refresh_atr("reading the ATR"); !atr) return unexpected(atr.error());
  return t;
}

PcscTransport::~PcscTransport() {
  if (connected_)
    SCardDisconnect(card_, options_.reset_on_close ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
}

std::string PcscTransport::describe() const {
  return "PC/SC reader '" + reader_ + "' (T=" + std::to_string(protocol_) + ", " +
         (options_.share == ShareMode::exclusive ? "exclusive" : "shared") + ")";
}

bool PcscTransport::t0_handling() const {
  switch (options_.t0) {
    case T0Handling::always:
      return true;
    case T0Handling::never:
      return false;
    case T0Handling::automatic:
      break;
  }
  return protocol_ == 0;
}

Result<void, PcscError> PcscTransport::refresh_atr(std::string_view operation) {
  char name[MAX_READERNAME + 1];
  DWORD name_len = sizeof name;
  DWORD state = 0;
  DWORD protocol = 0;
  BYTE atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr;
  const LONG rv = SCardStatus(card_, name, &name_len, &state, &protocol, atr, &atr_len);
  if (rv != SCARD_S_SUCCESS) {
    atr_.clear();
    return unexpected(make_error(rv, operation, reader_));
  }
  atr_.assign(atr, atr + std::min<DWORD>(atr_len, sizeof atr));
  if (protocol == SCARD_PROTOCOL_T0 || protocol == SCARD_PROTOCOL_T1) {
    protocol_flag_ = protocol;
    protocol_ = protocol == SCARD_PROTOCOL_T0 ? 0 : 1;
  }
  return {};
}

Result<Bytes, PcscError> PcscTransport::transmit_raw(ByteView command) {
  if (!connected_) {
    PcscError e = make_error(SCARD_E_NO_SMARTCARD, "sending a command", reader_);
    e.message += "; reset or power-cycle once a card is in";
    return unexpected(std::move(e));
  }
  const SCARD_IO_REQUEST* pci = protocol_flag_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  Bytes buffer(MAX_BUFFER_SIZE_EXTENDED);
  DWORD length = static_cast<DWORD>(buffer.size());
  const LONG rv = SCardTransmit(card_, pci, command.data(), static_cast<DWORD>(command.size()),
                                nullptr, buffer.data(), &length);
  if (rv == SCARD_W_RESET_CARD) {
    // Make the handle usable again, but do not resend: the card has lost
    // its selections and security state, and the caller must know.
    PcscError e = make_error(rv, "sending a command", reader_);
    auto again = reconnect(SCARD_LEAVE_CARD, "reconnecting after a reset");
    e.message += again ? "; reconnected: selections and security state are lost, start again"
                       : "; reconnecting failed: " + again.error().message;
    return unexpected(std::move(e));
  }
  // A card pulled in the middle of a command shows first as a failed
  // exchange, or (vpcd, when its socket closes) as an empty answer; pcscd sees
  // the removal a moment later (vpcd checks presence about every 400 ms). Say
  // "removed" when that is what happened.
  const bool empty_answer = rv == SCARD_S_SUCCESS && length < 2;
  if (rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_F_COMM_ERROR || empty_answer) {
    if (context_.wait_for_removal(reader_, std::chrono::milliseconds(1500))) {
      atr_.clear();
      return unexpected(make_error(SCARD_W_REMOVED_CARD, "sending a command", reader_));
    }
    if (empty_answer) {
      return unexpected(PcscError{ErrorKind::communication, 0,
                                  "sending a command on reader '" + reader_ + "': the answer has " +
                                      std::to_string(length) +
                                      " byte(s), shorter than a status word"});
    }
  }
  if (rv != SCARD_S_SUCCESS) {
    if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD) atr_.clear();
    return unexpected(make_error(rv, "sending a command", reader_));
  }
  buffer.resize(length);
  return buffer;
}

Result<Bytes, PcscError> PcscTransport::exchange(ByteView command) {
  if (!t0_handling()) return transmit_raw(command);
  // exchange_t0 speaks TransportError; keep the PC/SC error beside it.
  std::optional<PcscError> failure;
  RawTransmit raw = [&](ByteView c) -> Result<Bytes, TransportError> {
    auto r = transmit_raw(c);
    if (!r) {
      failure = r.error();
      return unexpected(r.error().to_transport());
    }
    return std::move(*r);
  };
  auto r = exchange_t0(command, raw);
  if (r) return std::move(*r);
  if (failure) {
    failure->message = r.error().message;
    return unexpected(std::move(*failure));
  }
  return unexpected(PcscError{ErrorKind::communication, 0, r.error().message});
}

Result<Bytes, PcscError> PcscTransport::reconnect(unsigned long disposition,
                                                  std::string_view operation) {
  DWORD active = 0;
  LONG rv = SCARD_E_NO_SMARTCARD;
  if (connected_) {
    rv = SCardReconnect(card_, share_of(options_), protocols_of(options_), disposition, &active);
    if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_INVALID_HANDLE) {
      // The card this handle knew is gone; a new one may be in: connect to it
      // afresh (its power-up is a cold reset in itself).
      SCardDisconnect(card_, SCARD_LEAVE_CARD);
      connected_ = false;
    }
  }
  if (!connected_) {
    SCARDHANDLE card = 0;
    rv = SCardConnect(context_.handle(), reader_.c_str(), share_of(options_),
                      protocols_of(options_), &card, &active);
    if (rv == SCARD_S_SUCCESS) {
      card_ = card;
      connected_ = true;
    }
  }
  if (rv != SCARD_S_SUCCESS) {
    atr_.clear();
    return unexpected(make_error(rv, operation, reader_));
  }
  protocol_flag_ = active;
  protocol_ = active == SCARD_PROTOCOL_T0 ? 0 : 1;
  if (auto ok = refresh_atr(operation); !ok) return unexpected(ok.error());
  return atr_;
}

Result<Bytes, PcscError> PcscTransport::warm_reset() {
  return reconnect(SCARD_RESET_CARD, "resetting the card");
}

Result<Bytes, PcscError> PcscTransport::cold_reset() {
  return reconnect(SCARD_UNPOWER_CARD, "power-cycling the card");
}

Result<Bytes, TransportError> PcscTransport::remember(Result<Bytes, PcscError> r) {
  if (r) {
    last_error_.reset();
    return std::move(*r);
  }
  last_error_ = r.error();
  return unexpected(r.error().to_transport());
}

Result<Bytes, TransportError> PcscTransport::transmit(ByteView command) {
  return remember(exchange(command));
}

Result<Bytes, TransportError> PcscTransport::reset() {
  return remember(warm_reset());
}

Result<Bytes, TransportError> PcscTransport::power_cycle() {
  return remember(cold_reset());
}

Result<PcscTransaction, PcscError> PcscTransport::begin_transaction() {
  if (!connected_)
    return unexpected(make_error(SCARD_E_NO_SMARTCARD, "beginning a transaction", reader_));
  const LONG rv = SCardBeginTransaction(card_);
  if (rv != SCARD_S_SUCCESS) return unexpected(make_error(rv, "beginning a transaction", reader_));
  return PcscTransaction(this);
}

}  // namespace juki::host::pcsc
