// The PKI's files: read whole, created without overwriting, or replaced so
// that a reader never sees half of one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

// ------------------------------------------------------------ files

Result<Bytes, PkiError> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(PkiErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
  Bytes out;
  std::uint8_t buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return fail(PkiErrorKind::io, "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

Result<void, PkiError> write_new_file(const std::string& path, ByteView data, unsigned mode) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0)
    return fail(PkiErrorKind::io, "cannot create " + path + ": " + std::strerror(errno) +
                                      (errno == EEXIST ? " (refusing to overwrite)" : ""));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return fail(PkiErrorKind::io, "cannot write " + path + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(path.c_str());
    return fail(PkiErrorKind::io, "cannot write " + path);
  }
  return {};
}

Result<void, PkiError> replace_file(const std::string& path, ByteView data, unsigned mode) {
  const std::string tmp = path + ".tmp";
  // A PATH.tmp left by a process that died mid-write holds nothing anyone needs.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return fail(PkiErrorKind::io, "cannot remove " + tmp + ": " + std::strerror(errno));
  if (auto ok = write_new_file(tmp, data, mode); !ok) return ok;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail(PkiErrorKind::io, "cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
  }
  // The rename itself must reach the disk too.
  // Initialized, not assigned ".": GCC 12's -Wrestrict misfires on that assignment.
  const std::string dir_path = std::filesystem::path(path).parent_path().string();
  const std::string parent = dir_path.empty() ? std::string(".") : dir_path;
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::fsync(dir) != 0) {
    if (dir >= 0) ::close(dir);
    return fail(PkiErrorKind::io, "cannot sync " + parent);
  }
  ::close(dir);
  return {};
}

}  // namespace juki::pki
