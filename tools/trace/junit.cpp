// JUnit files read with libxml2: CTest's (--output-junit, a testcase per
// CTest test) and the conformance runner's (a testsuite per script, a
// testcase per section).
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "tools/trace/trace.hpp"

namespace juki::trace {
namespace {

std::string attribute(xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (!value) return {};
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

bool named(xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE &&
         xmlStrcmp(node->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

JunitCase case_of(xmlNode* testcase, const std::string& suite) {
  JunitCase c;
  c.suite = suite;
  c.name = attribute(testcase, "name");
  // CTest writes status="run" / "fail" / "notrun" / "disabled" and the
  // children that say the same; other writers have only the children.
  const std::string status = attribute(testcase, "status");
  if (status == "fail") c.outcome = Outcome::failed;
  if (status == "notrun" || status == "disabled") c.outcome = Outcome::not_run;
  for (xmlNode* child = testcase->children; child; child = child->next) {
    if (named(child, "failure") || named(child, "error")) {
      c.outcome = Outcome::failed;
      if (c.message.empty()) c.message = attribute(child, "message");
    } else if (named(child, "skipped") && c.outcome != Outcome::failed) {
      c.outcome = Outcome::not_run;
      if (c.message.empty()) c.message = attribute(child, "message");
    }
  }
  return c;
}

void collect(xmlNode* node, const std::string& suite, std::vector<JunitCase>& out) {
  for (; node; node = node->next) {
    if (named(node, "testcase")) {
      out.push_back(case_of(node, suite));
    } else if (named(node, "testsuite")) {
      collect(node->children, attribute(node, "name"), out);
    } else if (named(node, "testsuites")) {
      collect(node->children, suite, out);
    }
  }
}

}  // namespace

std::optional<std::vector<JunitCase>> parse_junit(std::string_view xml, std::string& error) {
  const std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE),
      &xmlFreeDoc);
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    error = "not well-formed XML";
    if (e && e->message) {
      std::string message = e->message;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      error += " (line " + std::to_string(e->line) + ": " + message + ")";
    }
    return std::nullopt;
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !(named(root, "testsuites") || named(root, "testsuite"))) {
    error = "not a JUnit report: the root is not <testsuites> or <testsuite>";
    return std::nullopt;
  }
  std::vector<JunitCase> cases;
  collect(root, "", cases);
  return cases;
}

std::optional<std::vector<JunitCase>> read_junit(const std::filesystem::path& file,
                                                 std::string& error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = "cannot read " + file.string();
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto cases = parse_junit(text.str(), error);
  if (!cases) error = file.string() + ": " + error;
  return cases;
}

}  // namespace juki::trace
