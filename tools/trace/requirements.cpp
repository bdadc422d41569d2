// Reading specs/requirements.md: the rows of its requirement tables.
#include <algorithm>
#include <cctype>
#include <set>

#include "tools/trace/trace.hpp"

namespace juki::trace {
namespace {

const std::vector<std::string> kHeader = {"ID",   "Clause",  "Requirement",
                                          "Kind", "Scripts", "Notes"};

std::string trim(std::string_view s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  auto begin = std::find_if(s.begin(), s.end(), not_space);
  auto end = std::find_if(s.rbegin(), s.rend(), not_space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

// Drops one pair of surrounding backticks: `A1` and A1 are the same ID.
std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') return trim(s.substr(1, s.size() - 2));
  return s;
}

// The cells of a Markdown table row; `\|` is a '|' inside a cell.
std::vector<std::string> cells_of(std::string_view line) {
  std::string body = trim(line);
  if (!body.empty() && body.front() == '|') body.erase(0, 1);
  if (!body.empty() && body.back() == '|' && !(body.size() >= 2 && body[body.size() - 2] == '\\'))
    body.pop_back();
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (body[i] == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += body[i];
    }
  }
  cells.push_back(trim(cell));
  return cells;
}

bool is_separator_row(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return !c.empty() && c.find_first_not_of("-: ") == std::string::npos;
  });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<Kind> kind_of(const std::string& cell) {
  const std::string k = lower(unquote(cell));
  if (k == "testable") return Kind::testable;
  if (k == "organisational") return Kind::organisational;
  if (k == "testable, not implemented") return Kind::not_implemented;
  return std::nullopt;
}

// An ID is letters, digits, '.' and '-', starting with a letter: it has to
// survive inside a Catch2 tag ([req:ID]) and a URL fragment unchanged.
bool valid_id(const std::string& id) {
  if (id.empty() || !std::isalpha(static_cast<unsigned char>(id.front()))) return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; });
}

// Where the next item of a Scripts cell starts: a ';' followed (after any
// spaces) by the backtick of a FILE. A title may hold a ';' of its own, as
// "Wrong proofs count down; a proof needs a fresh challenge" does.
std::size_t next_item(const std::string& cell, std::size_t from) {
  for (std::size_t at = cell.find(';', from); at != std::string::npos;
       at = cell.find(';', at + 1)) {
    const std::size_t next = cell.find_first_not_of(" \t", at + 1);
    if (next != std::string::npos && cell[next] == '`') return at;
  }
  return cell.size();
}

// The Scripts cell: "—" or empty for none, else items `FILE` § TITLE
// separated by "; ".
bool parse_scripts(const std::string& cell, std::vector<ScriptSection>& out, std::string& error) {
  const std::string whole = trim(cell);
  if (whole.empty() || whole == "—" || whole == "-") return true;
  std::size_t start = 0;
  while (start <= whole.size()) {
    const std::size_t end = next_item(whole, start);
    const std::string item = trim(std::string_view(whole).substr(start, end - start));
    start = end + 1;
    if (item.empty()) continue;
    const std::size_t mark = item.find("§");
    if (item.front() != '`' || mark == std::string::npos) {
      error = "a script item is `FILE` § TITLE, not \"" + item + "\"";
      return false;
    }
    const std::string file = unquote(trim(item.substr(0, mark)));
    const std::string title = trim(item.substr(mark + std::string_view("§").size()));
    if (file.empty() || file.find('`') != std::string::npos || title.empty()) {
      error = "a script item is `FILE` § TITLE, not \"" + item + "\"";
      return false;
    }
    out.push_back({file, title});
  }
  return true;
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::testable:
      return "testable";
    case Kind::organisational:
      return "organisational";
    case Kind::not_implemented:
      return "testable, not implemented";
  }
  return "?";
}

std::string normalized_id(std::string_view id) {
  std::string out(id);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

Table parse_requirements(std::string_view markdown, std::string_view source_name) {
  Table table;
  table.source = source_name;
  std::set<std::string> seen;
  bool in_table = false;  // inside a table with our header
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= markdown.size()) {
    const std::size_t end = std::min(markdown.find('\n', pos), markdown.size());
    const std::string_view line = markdown.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = std::string(source_name) + ":" + std::to_string(line_no);
    const std::string text = trim(line);
    if (text.empty() || text.front() != '|') {
      in_table = false;
      continue;
    }
    const std::vector<std::string> cells = cells_of(text);
    if (cells == kHeader) {
      in_table = true;
      continue;
    }
    if (!in_table || is_separator_row(cells)) continue;
    if (cells.size() != kHeader.size()) {
      table.problems.push_back({where, "a row needs " + std::to_string(kHeader.size()) +
                                           " cells (ID, Clause, Requirement, Kind, Scripts, "
                                           "Notes), this one has " +
                                           std::to_string(cells.size())});
      continue;
    }
    Requirement r;
    r.id = unquote(cells[0]);
    r.clause = cells[1];
    r.text = cells[2];
    r.notes = cells[5];
    r.line = line_no;
    if (!valid_id(r.id)) {
      table.problems.push_back(
          {where, "\"" + r.id + "\" is not an ID (a letter, then letters, digits, '.', '-')"});
      continue;
    }
    if (!seen.insert(normalized_id(r.id)).second) {
      table.problems.push_back({where, r.id + " is in the table twice"});
      continue;
    }
    const auto kind = kind_of(cells[3]);
    if (!kind) {
      table.problems.push_back({where, r.id + ": the kind \"" + cells[3] +
                                           "\" is none of testable, organisational, "
                                           "testable, not implemented"});
      continue;
    }
    r.kind = *kind;
    std::string error;
    if (!parse_scripts(cells[4], r.scripts, error)) {
      table.problems.push_back({where, r.id + ": " + error});
      continue;
    }
    if (r.clause.empty() || r.text.empty()) {
      table.problems.push_back({where, r.id + ": the clause and the requirement's text are "
                                              "needed"});
      continue;
    }
    // Not implemented is a claim about the software; the reader must see why.
    if (r.kind == Kind::not_implemented && r.notes.empty()) {
      table.problems.push_back({where, r.id + ": a requirement not implemented says why in Notes"});
      continue;
    }
    table.rows.push_back(std::move(r));
  }
  return table;
}

}  // namespace juki::trace
