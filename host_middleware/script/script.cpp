#include "host_middleware/script/script.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <map>
#include <utility>

namespace juki::host::script {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_nibble(char c) {
  return is_hex(c) || c == 'X' || c == 'x';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}
std::uint8_t nibble_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
  return static_cast<std::uint8_t>(c - 'A' + 10);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Shows a character in an error message; bytes outside printable ASCII (a
// stray UTF-8 byte, a control character) as \xNN so the message stays readable.
std::string show(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F) return std::string("'") + c + "'";
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("'\\x") + kDigits[u >> 4] + kDigits[u & 0x0F] + "'";
}

// Splits off the first whitespace-delimited word.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  while (i < s.size() && !is_space(s[i])) ++i;
  return {s.substr(0, i), trim(s.substr(i))};
}


// Replaces $NAME and ${NAME} by the variable's hex. The value goes in with
// spaces around it, so a variable is always whole bytes and cannot be glued
// to a lone nibble.
Result<std::string, std::string> substitute(std::string_view text, const Variables& vars) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out.push_back(text[i++]);
      continue;
    }
    ++i;
    std::string_view name;
    if (i < text.size() && text[i] == '{') {
      std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) return unexpected(std::string("unterminated ${...}"));
      name = text.substr(i + 1, close - i - 1);
      i = close + 1;
      bool valid = !name.empty() && is_name_start(name.front());
      for (char c : name) valid = valid && is_name_char(c);
      if (!valid) return unexpected("invalid variable name '" + std::string(name) + "'");
    } else {
      std::size_t start = i;
      if (i < text.size() && is_name_start(text[i]))
        while (i < text.size() && is_name_char(text[i])) ++i;
      name = text.substr(start, i - start);
      if (name.empty()) return unexpected(std::string("'$' must be followed by a variable name"));
    }
    auto it = vars.find(name);
    if (it == vars.end()) return unexpected("undefined variable $" + std::string(name));
    out += ' ';
    out += to_hex(it->second);
    out += ' ';
  }
  return out;
}

// Plain hex bytes (commands, keys, variable values): a pattern without wildcards.
Result<Bytes, std::string> parse_hex(std::string_view text) {
  auto pattern = Pattern::parse(text);
  Bytes out;
  if (!pattern) {
    // An empty text is fine here; callers say whether they need bytes.
    if (trim(text).empty()) return out;
    return unexpected(pattern.error());
  }
  for (const auto& e : pattern->elements()) {
    if (e.kind != Pattern::Element::Kind::byte || e.mask != 0xFF)
      return unexpected(std::string("wildcards (X, .., *) belong only in expected patterns"));
    out.push_back(e.value);
  }
  return out;
}

}  // namespace

// --- Pattern -------------------------------------------------------------

Result<Pattern, std::string> Pattern::parse(std::string_view text) {
  Pattern p;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (is_space(c)) {
      ++i;
    } else if (c == '*') {
      // "**" means the same as "*"; one element keeps matching linear.
      if (p.elements_.empty() || p.elements_.back().kind != Element::Kind::any_run)
        p.elements_.push_back({Element::Kind::any_run, 0, 0});
      ++i;
    } else if (c == '.') {
      if (i + 1 >= text.size() || text[i + 1] != '.')
        return unexpected(std::string("a lone '.': \"..\" (two dots) matches one byte"));
      p.elements_.push_back({Element::Kind::any_byte, 0, 0});
      i += 2;
    } else if (is_nibble(c)) {
      if (i + 1 >= text.size() || is_space(text[i + 1]))
        return unexpected("incomplete byte at " + show(c) +
                          ": a byte is two adjacent hex digits (or X)");
      if (!is_nibble(text[i + 1]))
        return unexpected("unexpected character " + show(text[i + 1]) +
                          " (expected hex digits, X, \"..\" or \"*\")");
      Element e{Element::Kind::byte, 0, 0};
      for (int k = 0; k < 2; ++k) {
        char n = text[i + static_cast<std::size_t>(k)];
        int shift = k == 0 ? 4 : 0;
        if (n != 'X' && n != 'x') {
          e.value = static_cast<std::uint8_t>(e.value | nibble_value(n) << shift);
          e.mask = static_cast<std::uint8_t>(e.mask | 0x0F << shift);
        }
      }
      p.elements_.push_back(e);
      i += 2;
    } else {
      return unexpected("unexpected character " + show(c) +
                        " (expected hex digits, X, \"..\" or \"*\")");
    }
  }
  if (p.elements_.empty()) return unexpected(std::string("empty pattern"));
  return p;
}

Pattern Pattern::exact(ByteView bytes) {
  Pattern p;
  for (std::uint8_t b : bytes) p.elements_.push_back({Element::Kind::byte, b, 0xFF});
  return p;
}

bool Pattern::matches(ByteView actual) const {
  // Wildcard matching with backtracking to the last '*' only: linear in
  // practice, O(n*m) at worst, never exponential.
  const auto& el = elements_;
  std::size_t p = 0, a = 0;
  std::optional<std::size_t> star_p;
  std::size_t star_a = 0;
  auto one = [](const Element& e, std::uint8_t b) {
    return e.kind == Element::Kind::any_byte ||
           (e.kind == Element::Kind::byte && (b & e.mask) == e.value);
  };
  while (a < actual.size()) {
    if (p < el.size() && el[p].kind == Element::Kind::any_run) {
      star_p = p++;
      star_a = a;
    } else if (p < el.size() && one(el[p], actual[a])) {
      ++p;
      ++a;
    } else if (star_p) {
      p = *star_p + 1;
      a = ++star_a;
    } else {
      return false;
    }
  }
  while (p < el.size() && el[p].kind == Element::Kind::any_run) ++p;
  return p == el.size();
}

std::string Pattern::to_string() const {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  bool prev_byte = false;
  for (const auto& e : elements_) {
    bool is_byte = e.kind == Element::Kind::byte;
    if (!out.empty() && !(is_byte && prev_byte)) out += ' ';
    switch (e.kind) {
      case Element::Kind::byte:
        out += (e.mask & 0xF0) ? kDigits[e.value >> 4] : 'X';
        out += (e.mask & 0x0F) ? kDigits[e.value & 0x0F] : 'X';
        break;
      case Element::Kind::any_byte:
        out += "..";
        break;
      case Element::Kind::any_run:
        out += '*';
        break;
    }
    prev_byte = is_byte;
  }
  return out;
}

// --- Parser --------------------------------------------------------------

namespace {
constexpr int kMaxIncludeDepth = 8;

// Parses `text` into `script`, sharing variables with the includer, so a
// library script can name keys once for all that include it.
// A name in `fixed` keeps its value whatever a `set` says.
Result<void, ParseError> parse_into(std::string_view text, const std::string& file, Script& script,
                                    Variables& vars, const Variables& fixed,
                                    const IncludeLoader& loader, int depth) {
  struct Pending {
    std::size_t line;
    Bytes command;
  };
  std::optional<Pending> pending;  // a `>` waiting for its `<`

  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM from some editors

  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;

    auto fail = [&](std::string message) {
      return unexpected(ParseError{line_no, std::move(message)});
    };
    auto pattern_of = [&](std::string_view what,
                          std::string_view body) -> Result<Pattern, std::string> {
      auto substituted = substitute(body, vars);
      if (!substituted) return unexpected(std::string(what) + ": " + substituted.error());
      auto pattern = Pattern::parse(*substituted);
      if (!pattern) return unexpected(std::string(what) + ": " + pattern.error());
      return pattern;
    };
    auto hex_of = [&](std::string_view what, std::string_view body) -> Result<Bytes, std::string> {
      auto substituted = substitute(body, vars);
      if (!substituted) return unexpected(std::string(what) + ": " + substituted.error());
      auto bytes = parse_hex(*substituted);
      if (!bytes) return unexpected(std::string(what) + ": " + bytes.error());
      return bytes;
    };

    if (pending && line.front() != '<')
      return fail("expected \"< PATTERN\" (the response to the command on line " +
                  std::to_string(pending->line) + ")");

    if (line.front() == '<') {
      if (!pending) return fail("\"<\" without a command: it must follow a \"> HEX\" line");
      auto expected = pattern_of("expected response", line.substr(1));
      if (!expected) return fail(expected.error());
      script.steps.push_back(
          {pending->line, Exchange{std::move(pending->command), *expected}, file});
      pending.reset();
    } else if (line.substr(0, 2) == "==") {
      auto title = trim(line.substr(2));
      if (title.empty()) return fail("section title missing after \"==\"");
      script.steps.push_back({line_no, Section{std::string(title)}, file});
    } else if (line.front() == '>') {
      auto command = hex_of("command", line.substr(1));
      if (!command) return fail(command.error());
      if (command->empty()) return fail("command: no bytes after \">\"");
      pending = Pending{line_no, std::move(*command)};
    } else {
      auto [word, rest] = split_word(line);
      std::string keyword = lower(word);
      if (keyword == "reset" || keyword == "power-cycle" || keyword == "end-session") {
        if (!rest.empty()) return fail("unexpected text after \"" + keyword + "\"");
        if (keyword == "reset")
          script.steps.push_back({line_no, Reset{}, file});
        else if (keyword == "power-cycle")
          script.steps.push_back({line_no, PowerCycle{}, file});
        else
          script.steps.push_back({line_no, EndSession{}, file});
      } else if (keyword == "atr") {
        if (rest.empty()) return fail("atr: pattern missing");
        auto expected = pattern_of("atr", rest);
        if (!expected) return fail(expected.error());
        script.steps.push_back({line_no, AtrCheck{*expected}, file});
      } else if (keyword == "auth" || keyword == "session") {
        const std::string k = keyword;  // in messages: "auth: ..." or "session: ..."
        auto substituted = substitute(rest, vars);
        if (!substituted) return fail(k + ": " + substituted.error());
        // Split at the word "expect"; the key may contain spaces, so the
        // key reference is the first word and the key everything up to it.
        std::string_view body = *substituted;
        std::string_view pattern_text;
        bool has_expect = false;
        for (std::size_t i = 0; i < body.size();) {
          if (is_space(body[i])) {
            ++i;
            continue;
          }
          std::size_t start = i;
          while (i < body.size() && !is_space(body[i])) ++i;
          if (lower(body.substr(start, i - start)) == "expect") {
            pattern_text = body.substr(i);
            body = body.substr(0, start);
            has_expect = true;
            break;
          }
        }
        auto [ref_text, key_text] = split_word(body);
        if (ref_text.empty()) return fail(k + ": KEYREF and KEY missing");
        auto ref = parse_hex(ref_text);
        if (!ref || ref->size() != 1)
          return fail(k + ": KEYREF must be one hex byte, got \"" + std::string(ref_text) + "\"");
        auto key = parse_hex(key_text);
        if (!key) return fail(k + ": key: " + key.error());
        if (key->size() != 16 && key->size() != 24 && key->size() != 32)
          return fail(k + ": the AES key must be 16, 24 or 32 bytes, got " +
                      std::to_string(key->size()));
        Pattern expected = Pattern::exact(Bytes{0x90, 0x00});
        if (has_expect) {
          if (trim(pattern_text).empty()) return fail(k + ": pattern missing after \"expect\"");
          auto p = Pattern::parse(pattern_text);
          if (!p) return fail(k + ": expect: " + p.error());
          expected = *p;
        }
        script.steps.push_back(
            {line_no, Auth{(*ref)[0], std::move(*key), std::move(expected), k == "session"}, file});
      } else if (keyword == "set") {
        auto [name, value_text] = split_word(rest);
        if (name.empty()) return fail("set: NAME and HEX missing");
        bool valid = is_name_start(name.front());
        for (char c : name) valid = valid && is_name_char(c);
        if (!valid)
          return fail("set: invalid variable name \"" + std::string(name) +
                      "\" (letters, digits and _, not starting with a digit)");
        auto value = hex_of("set " + std::string(name), value_text);
        if (!value) return fail(value.error());
        if (value->empty()) return fail("set " + std::string(name) + ": value missing");
        if (!fixed.contains(name)) vars[std::string(name)] = std::move(*value);
      } else if (keyword == "include") {
        const std::string written(trim(rest));
        if (written.empty()) return fail("include: PATH missing");
        // Relative to the including file (which is itself relative to the script).
        const std::string path =
            (std::filesystem::path(file).parent_path() / written).lexically_normal().string();
        if (!loader) return fail("include: not available here (scripts read from a file only)");
        if (depth >= kMaxIncludeDepth)
          return fail("include: nested more than " + std::to_string(kMaxIncludeDepth) +
                      " deep (a cycle?)");
        auto included = loader(path);
        if (!included) return fail("include " + path + ": " + included.error());
        auto r = parse_into(*included, path, script, vars, fixed, loader, depth + 1);
        if (!r) return fail(format(r.error(), path));
      } else {
        return fail("unknown directive \"" + std::string(word) +
                    "\" (expected >, <, ==, reset, power-cycle, atr, auth, session, end-session, "
                    "set or include)");
      }
    }
  }
  if (pending)
    return unexpected(ParseError{
        pending->line, "command without an expected response (\"< PATTERN\" must follow)"});
  return {};
}
}  // namespace

Result<Script, ParseError> parse(std::string_view text, std::string source_name,
                                 const IncludeLoader& loader, const Variables& fixed) {
  Script script{std::move(source_name), {}};
  Variables vars = fixed;
  auto r = parse_into(text, {}, script, vars, fixed, loader, 0);
  if (!r) return unexpected(r.error());
  return script;
}

Result<Script, ParseError> parse_file(const std::string& path, const Variables& fixed) {
  auto read = [](const std::filesystem::path& p) -> Result<std::string, std::string> {
    std::ifstream in(p, std::ios::binary);
    if (!in) return unexpected("cannot read " + p.string() + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  auto text = read(path);
  if (!text) return unexpected(ParseError{0, text.error()});
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return parse(*text, path, [&](const std::string& inc) { return read(dir / inc); }, fixed);
}

std::string format(const ParseError& error, std::string_view source_name) {
  std::string out(source_name);
  if (error.line) out += ":" + std::to_string(error.line);
  return out + ": " + error.message;
}

}  // namespace juki::host::script
