// Batch issuance, the national consignment issuance (委託発行;
// specs/issuance.md 4): many applications from a file, each received,
// registered and issued on a blank card, by several readers in parallel.
//
// One worker thread per reader. A worker takes the next application, looks
// up what an earlier run of the file left of it (already issued: nothing to
// do; received or registered: taken up), waits for a blank card in its
// reader, records the intake and the registration through its own
// connection to the records file (SQLite serializes the writers), and issues
// the card with issue_one, the counter's own single-card flow: resumed once
// when the card went away; spoiled when the card or a CA refused, and then
// tried again on the reader's next blank card, up to a bound. What failed
// fails alone; the summary says which application, at which stage, and why.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "issuer_tool/issuance/batch_file.hpp"
#include "issuer_tool/issuance/batch_readers.hpp"
#include "issuer_tool/issuance/issue.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "records/records.hpp"

namespace juki::issuance {

// ------------------------------------------------------------ the run

// A card spoiled for an application in this run, and why.
struct SpoiledCard {
  std::string serial;
  std::string stage, kind, reason;  // as in BatchOutcome
};

// What became of one application.
struct BatchOutcome {
  std::size_t line = 0;
  bool ok = false;
  // ok without a card of this run: an earlier run issued the application's
  // card; `serial`, `expiry` and `card_state` are that card's.
  bool already_issued = false;
  // The application is one an earlier run received, taken up by this run.
  bool reused_application = false;
  std::string reader;                            // empty when no reader took it
  std::optional<std::int64_t> application;       // once received
  std::string serial;                            // once the card was opened
  std::optional<std::string> expiry;             // issued: YYYYMMDD
  std::optional<records::CardState> card_state;  // already issued: the card's state now
  bool resumed = false;                          // the card went away and was resumed
  std::size_t attempts = 0;          // the cards this run tried for it, spoiled ones included
  std::vector<SpoiledCard> spoiled;  // the cards this run spoiled for it, in order
  // A failure: the stage ("intake", "register", "reader", "open", a
  // personalization step, "records"), a kind (a records error kind, an
  // issuance failure kind, "card_removed", "known_card", "no_reader") and
  // the reason, a sentence.
  std::string stage, kind, reason;
  double seconds = 0;  // from the first card in the reader to the last record
};

struct BatchSummary {
  std::vector<BatchOutcome> outcomes;  // in file order
  std::size_t issued = 0;              // cards issued by this run
  std::size_t already_issued = 0;      // applications an earlier run issued
  std::size_t failed = 0;
  std::size_t spoiled = 0;  // cards this run spoiled, those of issued applications included
  double elapsed_seconds = 0;
  double cards_per_minute = 0;  // cards issued per minute of the whole run
};

// What the workers are doing, for a progress display. Called from the
// worker threads, one call at a time.
struct BatchEvent {
  enum class What : std::uint8_t { started, card, step, finished };
  What what = What::started;
  std::size_t worker = 0;
  const BatchApplication* application = nullptr;
  std::string serial;                     // card
  Step step = Step::open;                 // step
  const BatchOutcome* outcome = nullptr;  // finished
};

// The cards an application may take in one run: a spoiled card is followed
// by the reader's next blank card until this many were tried.
inline constexpr std::size_t kDefaultAttempts = 3;

struct BatchOptions {
  std::string db;  // the records file; each worker opens its own connection
  records::Actor actor;
  std::size_t attempts = kDefaultAttempts;  // at least 1
  std::function<void(const BatchEvent&)> observer;
};

// Runs the batch: one worker per reader. Fails only when the records cannot
// be opened; everything after that is in the outcomes. Running the same
// applications again is safe (specs/issuance.md 4.4): an application an
// earlier run issued is reported already issued, one it received or
// registered is taken up, and a resident code on two lines is issued once.
Result<BatchSummary, records::RecordsError> run_batch(
    const std::vector<BatchApplication>& applications,
    const std::vector<std::unique_ptr<CardReader>>& readers, const Authorities& authorities,
    const CounterKeys& keys, const BatchOptions& options);

}  // namespace juki::issuance
