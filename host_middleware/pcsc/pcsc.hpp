// PC/SC through libpcsclite: a context (readers, their states, waiting for a
// card), and PcscTransport, the Transport for a card in a reader
// (ARCHITECTURE.md, "The path of one APDU").
//
// Which pcscd is reached is libpcsclite's business: it reads
// PCSCLITE_CSOCK_NAME (the socket path) at its first call in the process.
// Tests point it at a private pcscd in their own mount namespace, or at a
// path where nothing listens to see the "no service" error. Nothing here
// reads it, except to say it in that error.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/pcsc/t0.hpp"

namespace juki::host::pcsc {

// What went wrong, in the words a terminal operator needs.
enum class ErrorKind : std::uint8_t {
  no_service,         // pcscd not running / not reachable
  no_reader,          // no reader at all, or not the one asked for
  no_card,            // the reader is empty
  card_removed,       // the card went away during the session
  card_reset,         // another application reset the card (we reconnected)
  sharing_violation,  // another application holds the reader exclusively
  timeout,            // a wait ran out
  cancelled,          // SCardCancel
  unresponsive,       // the card is mute or unpowered
  communication,      // transport-level failure between reader and card
  other,
};
// "no_service", "no_reader"...: stable names for --json output.
const char* to_string(ErrorKind kind);

struct PcscError {
  ErrorKind kind = ErrorKind::other;
  long code = 0;  // the PC/SC return value; 0 when the error did not come from PC/SC
  std::string message;
  TransportError to_transport() const { return {message}; }
};

// The error kind of a PC/SC return value.
ErrorKind classify(long code);
// A full sentence: "<operation> on reader 'R': <what happened> [PC/SC: <its text> 0x...]".
// `reader` may be empty.
PcscError make_error(long code, std::string_view operation, std::string_view reader = {});

struct ReaderState {
  std::string name;
  bool card_present = false;
  bool exclusive = false;  // another application holds it exclusively
  bool in_use = false;     // connected to by some application
  bool mute = false;       // a card is there but does not answer its reset
  Bytes atr;               // empty without a (powered) card
};

// No timeout: wait for ever.
using Timeout = std::optional<std::chrono::milliseconds>;

// One PC/SC context (SCardEstablishContext .. SCardReleaseContext).
class PcscContext {
 public:
  static Result<PcscContext, PcscError> establish();
  ~PcscContext();
  PcscContext(PcscContext&& other) noexcept;
  PcscContext& operator=(PcscContext&& other) noexcept;
  PcscContext(const PcscContext&) = delete;
  PcscContext& operator=(const PcscContext&) = delete;

  // Reader names; empty when no reader is connected (not an error).
  Result<std::vector<std::string>, PcscError> readers() const;
  // Every reader with its card's state.
  Result<std::vector<ReaderState>, PcscError> reader_states() const;
  Result<ReaderState, PcscError> reader_state(const std::string& reader) const;
  // The reader meant by `name`: the reader of that exact name, else the one
  // whose name contains it ("Juki test" for "Juki test 00 00"). When several
  // match (vpcd has two slots; an empty name matches all), the first holding
  // a card; an empty name with no card anywhere gives the first reader.
  Result<std::string, PcscError> resolve_reader(std::string_view name) const;

  // Waits until a card is in a reader that `reader` names (exactly, or as a
  // part of their names; all readers when empty); readers plugged in
  // meanwhile count. Returns at once if there already is one, with the state
  // of that reader.
  Result<ReaderState, PcscError> wait_for_card(std::string_view reader, Timeout timeout) const;
  // Waits until no reader that `reader` names holds a card. Returns the state
  // of the reader whose card went last (or of the first such reader).
  Result<ReaderState, PcscError> wait_for_removal(std::string_view reader, Timeout timeout) const;
  // Ends a wait running in another thread (it fails with `cancelled`).
  Result<void, PcscError> cancel() const;

  long handle() const { return handle_; }

 private:
  explicit PcscContext(long handle) : handle_(handle) {}
  enum class Want : std::uint8_t { card, no_card };
  Result<ReaderState, PcscError> wait(std::string_view reader, Want want, Timeout timeout) const;

  long handle_ = 0;
  bool valid_ = false;
};

enum class ShareMode : std::uint8_t { shared, exclusive };
// When to complete 61XX/6CXX answers (t0.hpp): on T=0 only (a T=1 card means
// what it says, and the conformance scripts check 6CXX), always, or never.
enum class T0Handling : std::uint8_t { automatic, always, never };

struct ConnectOptions {
  ShareMode share = ShareMode::shared;
  bool allow_t0 = true;
  bool allow_t1 = true;
  T0Handling t0 = T0Handling::automatic;
  // Reset the card when the transport goes away, so that a PIN verified in
  // this session is not left verified for the next application.
  bool reset_on_close = false;
};

class PcscTransport;

// SCardBeginTransaction .. SCardEndTransaction: no other application's
// command comes between this session's commands while it lives. It must not
// outlive its transport.
class PcscTransaction {
 public:
  ~PcscTransaction();
  PcscTransaction(PcscTransaction&& other) noexcept;
  PcscTransaction& operator=(PcscTransaction&&) = delete;
  PcscTransaction(const PcscTransaction&) = delete;
  PcscTransaction& operator=(const PcscTransaction&) = delete;
  // Ends it now (the destructor then does nothing).
  Result<void, PcscError> end();

 private:
  friend class PcscTransport;
  explicit PcscTransaction(PcscTransport* transport) : transport_(transport) {}
  PcscTransport* transport_;
};

// A card in a reader. The context must outlive the transport.
class PcscTransport final : public Transport {
 public:
  // `reader`: a name for PcscContext::resolve_reader.
  static Result<std::unique_ptr<PcscTransport>, PcscError> connect(
      const PcscContext& context, std::string_view reader, const ConnectOptions& options = {});
  ~PcscTransport() override;
  PcscTransport(const PcscTransport&) = delete;
  PcscTransport& operator=(const PcscTransport&) = delete;

  // With 61XX/6CXX completed per ConnectOptions::t0. After another
  // application reset the card, this reconnects and fails with card_reset
  // once: the card lost its selections and security state, so the command
  // is not silently sent again.
  Result<Bytes, TransportError> transmit(ByteView command) override;
  // SCardReconnect with SCARD_RESET_CARD; a card swapped in meanwhile is
  // connected to afresh.
  Result<Bytes, TransportError> reset() override;
  // SCardReconnect with SCARD_UNPOWER_CARD.
  Result<Bytes, TransportError> power_cycle() override;
  Bytes atr() const override { return atr_; }
  std::string describe() const override;

  // The same, with the PC/SC error kind kept.
  Result<Bytes, PcscError> exchange(ByteView command);
  Result<Bytes, PcscError> warm_reset();
  Result<Bytes, PcscError> cold_reset();
  // One SCardTransmit, nothing completed.
  Result<Bytes, PcscError> transmit_raw(ByteView command);

  Result<PcscTransaction, PcscError> begin_transaction();

  const std::string& reader() const { return reader_; }
  int protocol() const { return protocol_; }  // 0 for T=0, 1 for T=1
  // The last failure of a Transport call (transmit, reset, power_cycle), with
  // its kind, for callers that hold the Transport but report PC/SC kinds.
  const std::optional<PcscError>& last_error() const { return last_error_; }

 private:
  friend class PcscTransaction;
  PcscTransport(const PcscContext& context, std::string reader, const ConnectOptions& options,
                long card, unsigned long protocol);
  Result<Bytes, PcscError> reconnect(unsigned long disposition, std::string_view operation);
  Result<void, PcscError> refresh_atr(std::string_view operation);
  Result<Bytes, TransportError> remember(Result<Bytes, PcscError> r);
  bool t0_handling() const;

  const PcscContext& context_;
  std::string reader_;
  ConnectOptions options_;
  long card_ = 0;
  bool connected_ = true;
  unsigned long protocol_flag_ = 0;  // SCARD_PROTOCOL_T0 / _T1
  int protocol_ = 1;
  Bytes atr_;
  std::optional<PcscError> last_error_;
};

}  // namespace juki::host::pcsc
