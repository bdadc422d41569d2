#include "issuer_tool/issuance/batch.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

namespace juki::issuance {

namespace {

using nlohmann::json;
namespace rec = juki::records;

BatchEvent event(BatchEvent::What what, std::size_t worker, const BatchApplication* application) {
  BatchEvent e;
  e.what = what;
  e.worker = worker;
  e.application = application;
  return e;
}

// What a line asks for and an application the records hold disagree on, by
// the file's member names: nothing when the application is the line's
// (specs/issuance.md 4.4). The holder and the PINs are not recorded.
std::vector<std::string> differences(const rec::ApplicationRequest& line,
                                     const rec::Received& held) {
  const rec::Application& a = held.application;
  const rec::Person& p = line.person;
  std::vector<std::string> out;
  const std::pair<bool, const char*> same[] = {
      {a.person.name == p.name, "name"},
      {a.person.name_kana == p.name_kana, "kana"},
      {a.person.birth_date == p.birth_date, "birth_date"},
      {a.person.sex == p.sex, "sex"},
      {a.person.address == p.address, "address"},
      {a.kind == line.kind, "reissue"},
      {a.face == line.face, "face"},
      {a.braille == line.braille, "braille"},
      {a.same_day == line.same_day, "same_day"},
      {held.identity.document == line.identity.document, "id_document"},
      {held.identity.number == line.identity.number, "id_number"}};
  for (const auto& [equal, member] : same)
    if (!equal) out.emplace_back(member);
  return out;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? " and " : ", ") + words[i];
  return out;
}

// Where a line starts in this run: the records tell what an earlier run left.
enum class Start : std::uint8_t { intake, register_application, issue };

struct Run {
  const std::vector<BatchApplication>& applications;
  const std::vector<std::unique_ptr<CardReader>>& readers;
  const Authorities& authorities;
  const CounterKeys& keys;
  const BatchOptions& options;
  std::vector<rec::Records>& connections;
  // For each line, the first line with its resident code: itself, or the
  // line whose application it would duplicate.
  std::vector<std::size_t> first_of;

  std::mutex mutex;  // the queue, the outcomes, the observer
  std::deque<std::size_t> queue;
  std::vector<BatchOutcome> outcomes;  // finished, or the progress of one put back
  std::vector<bool> finished;
  std::string reader_failure;  // the last reader that failed, and why

  void emit(const BatchEvent& e) {
    if (!options.observer) return;
    const std::lock_guard lock(mutex);
    options.observer(e);
  }

  void fail(BatchOutcome& o, std::string stage, std::string kind, std::string reason) {
    o.ok = false;
    o.stage = std::move(stage);
    o.kind = std::move(kind);
    o.reason = std::move(reason);
  }

  void fail(BatchOutcome& o, std::string stage, const rec::RecordsError& e) {
    fail(o, std::move(stage), std::string(rec::to_string(e.kind)), e.message);
  }

  static std::string stays_registered(std::int64_t application) {
    const std::string id = std::to_string(application);
    return "application " + id +
           " stays registered for another card (run the file again, or juki-issuer personalize " +
           id + ")";
  }

  void fail(BatchOutcome& o, const IssueError& e, std::int64_t application) {
    using Kind = IssueError::Kind;
    o.serial = e.serial;
    const std::string id = std::to_string(application);
    switch (e.kind) {
      case Kind::open:
        fail(o, std::string(step_name(e.card.step)), std::string(kind_name(e.card.kind)),
             e.describe() + "; " + stays_registered(application));
        break;
      case Kind::known_card:
        fail(o, "open", "known_card", e.describe() + "; " + stays_registered(application));
        break;
      case Kind::records:
        fail(o, "records", e.records);
        break;
      case Kind::left_personalizing:
        // The card went away, or its certificates could not be recorded in
        // the PKI directory: either way personalize resumes it.
        fail(o, std::string(step_name(e.card.step)),
             e.card.kind == Failure::Kind::transport ? "card_removed"
                                                     : std::string(kind_name(e.card.kind)),
             e.describe() + ": put it in a reader and run juki-issuer personalize " + id +
                 " to resume it, or juki-issuer spoil " + e.serial);
        break;
      case Kind::spoiled:
        fail(o, std::string(step_name(e.card.step)), std::string(kind_name(e.card.kind)),
             e.describe() + "; " + stays_registered(application));
        break;
    }
  }

  // What the records hold for line `a` (specs/issuance.md 4.4), read before
  // a card is taken: where this run starts, or nothing when `o` is final
  // (already issued, or refused).
  std::optional<Start> start(rec::Records& records, const BatchApplication& a, BatchOutcome& o) {
    using State = rec::ApplicationState;
    const std::string& code = a.request.person.resident_code;
    auto latest = records.latest_application(code);
    if (!latest) {
      fail(o, "intake", latest.error());
      return std::nullopt;
    }
    if (!*latest) return Start::intake;
    const rec::Application& held = (*latest)->application;
    const std::string id = std::to_string(held.id);
    const std::string state(rec::to_string(held.state));
    const bool open = held.state == State::received || held.state == State::registered ||
                      held.state == State::personalized;
    if (const auto differ = differences(a.request, **latest); !differ.empty()) {
      // Another request: intake's own rules decide; an open one would be
      // refused by them anyway, and is without waiting for a card.
      if (!open) return Start::intake;
      fail(o, "intake", "duplicate_application",
           "resident code " + code + " has an open application " + id + " (" + state +
               ") that is not this line's: its " + joined(differ) +
               (differ.size() == 1 ? " differs" : " differ"));
      return std::nullopt;
    }
    // This line's application. Its cards, to tell the issued one or one left
    // in personalization.
    std::optional<rec::Card> card;
    if (held.state != State::received) {
      auto cards = records.cards_of(code);
      if (!cards) {
        fail(o, "intake", cards.error());
        return std::nullopt;
      }
      for (rec::Card& c : *cards)
        if (c.application_id == held.id && c.state != rec::CardState::spoiled) card = std::move(c);
    }
    // An earlier run's application is taken up; one a reader of this run put
    // back (o.application known) stays this run's.
    const bool reused = o.reused_application || !o.application;
    o.application = held.id;
    switch (held.state) {
      case State::received:
        o.reused_application = reused;
        return Start::register_application;
      case State::registered:
        if (!card) {
          o.reused_application = reused;
          return Start::issue;
        }
        o.serial = card->serial;
        fail(o, "intake", "card_removed",
             "card " + card->serial + " of application " + id +
                 " was left in personalization by an earlier run: put it in a reader and run "
                 "juki-issuer personalize " +
                 id + " to resume it, or juki-issuer spoil " + card->serial +
                 " and run the file again");
        return std::nullopt;
      case State::personalized:
      case State::handed_over:
      case State::completed:
        if (!card) {
          fail(o, "intake", "storage", "application " + id + " is " + state + " without a card");
          return std::nullopt;
        }
        o.ok = true;
        o.already_issued = true;
        o.serial = card->serial;
        o.expiry = card->expiry_date;
        o.card_state = card->state;
        return std::nullopt;
      case State::rejected:
      case State::cancelled:
        break;
    }
    fail(o, "intake", "wrong_state",
         "application " + id + " of resident code " + code + ", this line's, is " + state + " (" +
             held.reason.value_or("") +
             "): it is not received again by a batch; a new application goes through the counter");
    return std::nullopt;
  }

  // The application's cards on the worker's reader, beginning with `card`:
  // after a spoiled one, the reader's next blank card, until
  // options.attempts were tried. Fails with the reader's reason when it gave
  // no next card (`o` holds the progress, for another reader).
  Result<void, std::string> issue_cards(std::size_t worker, const BatchApplication& a,
                                        BatchOutcome& o, juki::Transport*& card) {
    CardReader& reader = *readers[worker];
    rec::Records& records = connections[worker];
    const std::int64_t id = *o.application;
    IssueProgress progress;
    progress.card = [&](const std::string& serial, bool) {
      BatchEvent e = event(BatchEvent::What::card, worker, &a);
      e.serial = serial;
      emit(e);
    };
    progress.step = [&](Step s) {
      BatchEvent e = event(BatchEvent::What::step, worker, &a);
      e.step = s;
      emit(e);
    };
    for (;;) {
      ++o.attempts;
      auto issued =
          issue_one(records, *card, id, authorities, keys, a.order, options.actor, progress);
      std::string reopen_failure;
      if (!issued && issued.error().transport()) {
        // The card went away: opened again once, it resumes where it was.
        if (auto again = reader.reopen(); again) {
          card = *again;
          issued =
              issue_one(records, *card, id, authorities, keys, a.order, options.actor, progress);
        } else {
          reopen_failure = again.error();
        }
      }
      reader.done();  // issued, spoiled, left in personalization or refused: finished with
      card = nullptr;
      if (issued) {
        o.ok = true;
        o.serial = issued->card.serial;
        o.expiry = issued->made.expiry;
        o.resumed = issued->resumed;
        o.stage.clear();
        o.kind.clear();
        o.reason.clear();
        return {};
      }
      const IssueError& e = issued.error();
      fail(o, e, id);
      if (!reopen_failure.empty()) o.reason += " (opening it again: " + reopen_failure + ")";
      // Only a spoiled card is the card's fault: a wrong transport key, a card
      // that is not blank or one the records know would meet the next card
      // alike, or is the operator's to look at.
      if (e.kind != IssueError::Kind::spoiled) return {};
      o.spoiled.push_back({e.serial, o.stage, o.kind, e.card.describe()});
      if (o.attempts >= options.attempts) {
        const std::size_t n = o.spoiled.size();
        o.reason = e.describe() + "; " + std::to_string(n) + (n == 1 ? " card" : " cards") +
                   " spoiled, the most one application may take (" +
                   std::to_string(options.attempts) + "); " + stays_registered(id);
        return {};
      }
      auto next = reader.next();
      if (!next) return unexpected(next.error());
      card = *next;
    }
  }

  // Line `a` on the worker's reader, into `o`. Fails with the reader's reason
  // when it gave no card: `o` then holds the progress, for another reader.
  Result<void, std::string> handle(std::size_t worker, const BatchApplication& a, BatchOutcome& o,
                                   juki::Transport*& card) {
    using Clock = std::chrono::steady_clock;
    CardReader& reader = *readers[worker];
    rec::Records& records = connections[worker];
    o.line = a.line;
    auto start_time = Clock::now();
    auto took = [&] {
      o.seconds += std::chrono::duration<double>(Clock::now() - start_time).count();
    };
    const auto begin = start(records, a, o);
    if (!begin) {
      took();
      return {};
    }
    if (card == nullptr) {
      auto next = reader.next();
      if (!next) return unexpected(next.error());
      card = *next;
      start_time = Clock::now();  // the time a card takes, not the wait for it
    }
    o.reader = reader.name();
    switch (*begin) {
      case Start::intake: {
        auto in = records.intake(a.request, options.actor);
        if (!in) {
          fail(o, "intake", in.error());
          took();
          return {};
        }
        o.application = in->application.id;
      }
        [[fallthrough]];
      case Start::register_application:
        if (auto registered = records.register_application(*o.application, options.actor);
            !registered) {
          fail(o, "register", std::string(rec::to_string(registered.error().kind)),
               registered.error().message + " (application " + std::to_string(*o.application) +
                   " stays received)");
          took();
          return {};
        }
        [[fallthrough]];
      case Start::issue:
        break;
    }
    auto done = issue_cards(worker, a, o, card);
    took();
    return done;
  }

  void work(std::size_t worker) {
    CardReader& reader = *readers[worker];
    juki::Transport* card = nullptr;  // a card in the reader, not yet used
    for (;;) {
      std::size_t i = 0;
      BatchOutcome o;
      {
        const std::lock_guard lock(mutex);
        if (queue.empty()) break;
        i = queue.front();
        queue.pop_front();
        o = std::move(outcomes[i]);  // what a reader that failed left
      }
      const BatchApplication& a = applications[i];
      emit(event(BatchEvent::What::started, worker, &a));
      if (first_of[i] != i) {
        o.line = a.line;
        fail(o, "intake", "duplicate_application",
             "resident code " + a.request.person.resident_code + " is on line " +
                 std::to_string(applications[first_of[i]].line) +
                 " too: only that line's application is taken");
      } else if (auto handled = handle(worker, a, o, card); !handled) {
        // This reader is out; another takes the application where it is.
        const std::lock_guard lock(mutex);
        outcomes[i] = std::move(o);
        queue.push_front(i);
        reader_failure = reader.name() + ": " + handled.error();
        break;
      }
      {
        const std::lock_guard lock(mutex);
        outcomes[i] = std::move(o);
        finished[i] = true;
      }
      BatchEvent e = event(BatchEvent::What::finished, worker, &a);
      e.outcome = &outcomes[i];
      emit(e);
    }
    if (card != nullptr) reader.done();  // a card left unused
  }
};

}  // namespace

Result<BatchSummary, rec::RecordsError> run_batch(
    const std::vector<BatchApplication>& applications,
    const std::vector<std::unique_ptr<CardReader>>& readers, const Authorities& authorities,
    const CounterKeys& keys, const BatchOptions& options) {
  std::vector<rec::Records> connections;
  for (std::size_t w = 0; w < readers.size(); ++w) {
    auto r = rec::Records::open(options.db);
    if (!r) return unexpected(r.error());
    connections.push_back(std::move(*r));
  }
  Run run{applications, readers, authorities, keys, options, connections, {}, {}, {}, {}, {}, {}};
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < applications.size(); ++i)
    run.first_of.push_back(
        first.try_emplace(applications[i].request.person.resident_code, i).first->second);
  run.outcomes.resize(applications.size());
  run.finished.assign(applications.size(), false);
  for (std::size_t i = 0; i < applications.size(); ++i) run.queue.push_back(i);

  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < readers.size(); ++w)
      workers.emplace_back([&run, w] { run.work(w); });
    for (std::thread& t : workers) t.join();
  }
  BatchSummary s;
  s.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t i = 0; i < applications.size(); ++i) {
    BatchOutcome& o = run.outcomes[i];
    if (!run.finished[i]) {
      o.line = applications[i].line;
      const std::string readers_left =
          "no reader left (" +
          (run.reader_failure.empty() ? std::string("none given") : run.reader_failure) + ")";
      run.fail(o, "reader", "no_reader",
               o.attempts == 0 ? "not attempted: " + readers_left
                               : "no next card: " + readers_left + "; " +
                                     Run::stays_registered(*o.application));
      BatchEvent e = event(BatchEvent::What::finished, readers.size(), &applications[i]);
      e.outcome = &o;
      run.emit(e);
    }
    if (!o.ok)
      ++s.failed;
    else if (o.already_issued)
      ++s.already_issued;
    else
      ++s.issued;
    s.spoiled += o.spoiled.size();
  }
  s.outcomes = std::move(run.outcomes);
  if (s.elapsed_seconds > 0)
    s.cards_per_minute = static_cast<double>(s.issued) * 60.0 / s.elapsed_seconds;
  return s;
}

}  // namespace juki::issuance
