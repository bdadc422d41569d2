// Keys in a PKCS#11 token through libp11: the RFC 7512 URI that names one, and
// the key itself, whose signatures are made in the token.
#include <fcntl.h>
#include <libp11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "pki/digest.hpp"
#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

namespace {

// RFC 3986 percent-decoding; nullopt for a broken escape.
std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const auto byte = from_hex(text.substr(i + 1, 2));
    if (!byte || byte->size() != 1 || text[i + 1] == ' ' || text[i + 2] == ' ') return std::nullopt;
    out.push_back(static_cast<char>(byte->front()));
    i += 2;
  }
  return out;
}

// "a=1;b=2" into names and decoded values, refusing repeats and names not in
// `allowed`.
Result<std::map<std::string, std::string>, PkiError> attributes(
    std::string_view part, char separator, const std::set<std::string_view>& allowed,
    std::string_view where) {
  std::map<std::string, std::string> out;
  while (!part.empty()) {
    const auto end = part.find(separator);
    const std::string_view item = part.substr(0, end);
    part = end == std::string_view::npos ? std::string_view{} : part.substr(end + 1);
    const auto eq = item.find('=');
    const std::string name(item.substr(0, eq));
    if (eq == std::string_view::npos || name.empty())
      return fail(PkiErrorKind::malformed, "the PKCS#11 URI's " + std::string(where) + " has \"" +
                                               std::string(item) + "\", not name=value");
    if (!allowed.count(name))
      return fail(PkiErrorKind::malformed, "the PKCS#11 URI's " + std::string(where) +
                                               " attribute \"" + name + "\" is not one we use");
    auto value = percent_decoded(item.substr(eq + 1));
    if (!value)
      return fail(PkiErrorKind::malformed,
                  "the PKCS#11 URI's attribute \"" + name + "\" has a broken %-escape");
    if (!out.emplace(name, std::move(*value)).second)
      return fail(PkiErrorKind::malformed,
                  "the PKCS#11 URI's attribute \"" + name + "\" appears twice");
  }
  return out;
}

// A PIN, wiped from memory when it goes.
struct Secret {
  std::string value;
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { OPENSSL_cleanse(value.data(), value.size()); }
};

// What a PIN is remembered as: SHA-256 over a salt of this process and the
// PIN, so that the PIN itself is not kept.
Bytes pin_digest(const std::string& pin) {
  static const Bytes salt = [] {
    Bytes s(16);
    if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) s.clear();
    return s;
  }();
  Bytes input = salt;
  input.insert(input.end(), pin.begin(), pin.end());
  Bytes digest = sha256(input);
  OPENSSL_cleanse(input.data(), input.size());
  return digest;
}

// A PKCS#11 module loaded once per process and never unloaded: unloading
// (C_Finalize) would end the sessions of every other key of the module in the
// process. Its slots, each token's PIN digest once logged in, and the keys
// found so far stay with it.
struct Module {
  std::mutex mutex;
  PKCS11_CTX* ctx = nullptr;
  std::vector<std::pair<PKCS11_SLOT*, unsigned>> enumerations;  // kept: keys point into them
  std::map<std::string, Bytes> logged_in;  // token serial -> pin_digest of the PIN that worked
  std::map<std::string, std::pair<std::shared_ptr<EVP_PKEY>, std::shared_ptr<EVP_PKEY>>> keys;
};

// One Module per library file, however its path is written (a link, "//"):
// two would each take the token as logged in by the other, PIN unchecked.
Result<Module*, PkiError> module(const std::string& path) {
  static std::mutex mutex;
  // Never destroyed, not even at exit: keys may still be used by then.
  static auto& modules = *new std::map<std::pair<dev_t, ino_t>, std::unique_ptr<Module>>;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(PkiErrorKind::token, "cannot load the PKCS#11 module " + path);
  const auto file = std::make_pair(st.st_dev, st.st_ino);
  std::lock_guard lock(mutex);
  auto& m = modules[file];
  if (m) return m.get();
  auto loaded = std::make_unique<Module>();
  loaded->ctx = PKCS11_CTX_new();
  if (!loaded->ctx) return crypto_fail("cannot make a PKCS#11 context");
  if (PKCS11_CTX_load(loaded->ctx, path.c_str()) != 0) {
    ERR_clear_error();
    PKCS11_CTX_free(loaded->ctx);
    modules.erase(file);
    return fail(PkiErrorKind::token, "cannot load the PKCS#11 module " + path);
  }
  m = std::move(loaded);
  return m.get();
}

// The slot holding the token labelled `label`: among the slots seen so far,
// else among the slots enumerated again (a token made since).
PKCS11_SLOT* find_slot(Module& m, const std::string& label) {
  auto search = [&]() -> PKCS11_SLOT* {
    for (auto [slots, n] : m.enumerations)
      for (unsigned i = 0; i < n; ++i)
        if (slots[i].token && slots[i].token->initialized && label == slots[i].token->label)
          return &slots[i];
    return nullptr;
  };
  if (auto* found = search()) return found;
  PKCS11_SLOT* slots = nullptr;
  unsigned n = 0;
  if (PKCS11_enumerate_slots(m.ctx, &slots, &n) != 0) {
    ERR_clear_error();
    return nullptr;
  }
  m.enumerations.emplace_back(slots, n);
  return search();
}

Result<void, PkiError> read_pin(const TokenKeyRef& ref, std::string& pin) {
  if (ref.pin_file.empty()) {
    pin = ref.pin_value;
    return {};
  }
  const int fd = ::open(ref.pin_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(PkiErrorKind::io, "cannot open " + ref.pin_file + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(PkiErrorKind::key_permissions,
                "refusing the PIN file " + ref.pin_file +
                    ": group or others may read it (it must be 0600 or stricter)");
  }
  char buf[256];
  pin.reserve(1100);  // no reallocation leaves a copy behind
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pin.append(buf, static_cast<std::size_t>(n));
    if (pin.size() > 1024) break;
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  const auto end = pin.find_first_of("\r\n");
  if (end != std::string::npos) {
    OPENSSL_cleanse(pin.data() + end, pin.size() - end);
    pin.resize(end);
  }
  return {};
}

bool same_digest(const Bytes& a, const Bytes& b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<TokenKeyRef, PkiError> parse_pkcs11_uri(std::string_view uri) {
  constexpr std::string_view scheme = "pkcs11:";
  if (uri.substr(0, scheme.size()) != scheme)
    return fail(PkiErrorKind::malformed, "a PKCS#11 URI starts with \"pkcs11:\"");
  uri.remove_prefix(scheme.size());
  const auto question = uri.find('?');
  auto path = attributes(uri.substr(0, question), ';', {"token", "object", "id", "type"}, "path");
  if (!path) return unexpected(path.error());
  auto query =
      attributes(question == std::string_view::npos ? std::string_view{} : uri.substr(question + 1),
                 '&', {"module-path", "pin-source", "pin-value"}, "query");
  if (!query) return unexpected(query.error());

  TokenKeyRef ref;
  auto take = [](auto& map, const char* name) {
    auto it = map.find(name);
    return it == map.end() ? std::string{} : it->second;
  };
  ref.token = take(*path, "token");
  ref.object = take(*path, "object");
  const std::string id = take(*path, "id");
  ref.id.assign(id.begin(), id.end());
  if (const std::string type = take(*path, "type"); !type.empty() && type != "private")
    return fail(PkiErrorKind::malformed, "the PKCS#11 URI's type must be private, not " + type);
  if (ref.token.empty()) return fail(PkiErrorKind::malformed, "the PKCS#11 URI names no token");
  if (ref.object.empty() && ref.id.empty())
    return fail(PkiErrorKind::malformed, "the PKCS#11 URI names no key (object or id)");
  if (auto m = take(*query, "module-path"); !m.empty()) ref.module = m;
  ref.pin_value = take(*query, "pin-value");
  const std::string source = take(*query, "pin-source");
  if (!source.empty()) {
    if (source.rfind("file:", 0) != 0 || source.size() == 5)
      return fail(PkiErrorKind::malformed, "the PKCS#11 URI's pin-source must be file:PATH");
    ref.pin_file = source.substr(5);
  }
  if (ref.pin_value.empty() == ref.pin_file.empty())
    return fail(PkiErrorKind::malformed, "the PKCS#11 URI needs one of pin-source and pin-value");
  return ref;
}

Result<PrivateKey, PkiError> PrivateKey::from_token(const TokenKeyRef& ref) {
  Secret pin;
  if (auto read = read_pin(ref, pin.value); !read) return unexpected(read.error());
  auto loaded = module(ref.module);
  if (!loaded) return unexpected(loaded.error());
  Module& m = **loaded;
  std::lock_guard lock(m.mutex);
  PKCS11_SLOT* slot = find_slot(m, ref.token);
  if (!slot)
    return fail(PkiErrorKind::token, "no token labelled \"" + ref.token + "\" in " + ref.module);

  // The token is logged in once per process; a later reference must still
  // know its PIN.
  const std::string serial(slot->token->serialnr);
  if (auto done = m.logged_in.find(serial); done != m.logged_in.end()) {
    if (!same_digest(done->second, pin_digest(pin.value)))
      return fail(PkiErrorKind::token, "the token \"" + ref.token + "\" refused the PIN");
  } else {
    if (PKCS11_login(slot, 0, pin.value.c_str()) != 0) {
      ERR_clear_error();
      return fail(PkiErrorKind::token, "the token \"" + ref.token + "\" refused the PIN");
    }
    m.logged_in.emplace(serial, pin_digest(pin.value));
  }

  const std::string cache_key = ref.module + '\0' + ref.token + '\0' + ref.object + '\0' +
                                std::string(ref.id.begin(), ref.id.end());
  if (auto cached = m.keys.find(cache_key); cached != m.keys.end())
    return PrivateKey(cached->second.first, cached->second.second);

  PKCS11_KEY* keys = nullptr;
  unsigned n = 0;
  if (PKCS11_enumerate_keys(slot->token, &keys, &n) != 0) {
    ERR_clear_error();
    return fail(PkiErrorKind::token, "cannot list the keys of the token \"" + ref.token + "\"");
  }
  PKCS11_KEY* key = nullptr;
  for (unsigned i = 0; i < n && !key; ++i) {
    const bool label_matches = ref.object.empty() || (keys[i].label && ref.object == keys[i].label);
    const bool id_matches =
        ref.id.empty() || Bytes(keys[i].id, keys[i].id + keys[i].id_len) == ref.id;
    if (keys[i].isPrivate && label_matches && id_matches) key = &keys[i];
  }
  if (!key)
    return fail(PkiErrorKind::token,
                "the token \"" + ref.token + "\" has no private key " +
                    (ref.object.empty() ? "with that id" : "labelled \"" + ref.object + "\""));
  std::shared_ptr<EVP_PKEY> private_key(PKCS11_get_private_key(key), PkeyDeleter{});
  std::shared_ptr<EVP_PKEY> public_key(PKCS11_get_public_key(key), PkeyDeleter{});
  if (!private_key || !public_key) {
    ERR_clear_error();
    return fail(PkiErrorKind::token, "the token \"" + ref.token + "\" gave no usable key");
  }
  if (!is_p256(public_key.get()))
    return fail(PkiErrorKind::wrong_algorithm, "the token's key is not an EC key on P-256");
  m.keys.emplace(cache_key, std::make_pair(private_key, public_key));
  return PrivateKey(std::move(private_key), std::move(public_key));
}

}  // namespace juki::pki
