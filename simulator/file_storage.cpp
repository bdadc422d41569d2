#include "simulator/file_storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace juki::sim {

namespace {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// The card cannot go on without its persistent memory: an I/O error on the
// image file is a broken EEPROM. The operator learns why; the card stops
// where it is, as at a power cut, and its next power-up recovers what the
// file holds.
[[noreturn]] void medium_failed(const char* op, const std::string& path, int err) {
  std::fprintf(stderr, "juki-card-sim: %s of card image '%s' failed: %s\n", op, path.c_str(),
               errno_text(err).c_str());
  throw card_os::PowerLoss();
}

}  // namespace

FileStorage::FileStorage(int fd, std::string path, Bytes mirror)
    : fd_(fd), path_(std::move(path)), mirror_(std::move(mirror)) {}

FileStorage::~FileStorage() {
  ::close(fd_);
}

Result<std::unique_ptr<FileStorage>, std::string> FileStorage::create(const std::string& path,
                                                                      std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected("cannot create card image '" + path + "': " + errno_text(errno));
  // ftruncate on an empty file gives zero bytes without writing them.
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return unexpected("cannot size card image '" + path + "' to " + std::to_string(size) +
                      " bytes: " + errno_text(err));
  }
  return std::unique_ptr<FileStorage>(new FileStorage(fd, path, Bytes(size, 0)));
}

Result<std::unique_ptr<FileStorage>, std::string> FileStorage::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return unexpected("cannot open card image '" + path + "': " + errno_text(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    return unexpected("cannot " + std::string(what) + " card image '" + path +
                      "': " + errno_text(err));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail("stat");
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return unexpected("card image '" + path + "' is not a regular file");
  }
  Bytes mirror(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < mirror.size()) {
    const ssize_t n =
        ::pread(fd, mirror.data() + done, mirror.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("read");
    if (n == 0) {
      ::close(fd);
      return unexpected("card image '" + path + "' shrank while it was being read");
    }
    done += static_cast<std::size_t>(n);
  }
  return std::unique_ptr<FileStorage>(new FileStorage(fd, path, std::move(mirror)));
}

void FileStorage::read(std::size_t offset, std::span<std::uint8_t> out) const {
  card_os::check_range(offset, out.size(), mirror_.size());
  std::copy_n(mirror_.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
}

void FileStorage::write(std::size_t offset, ByteView data) {
  card_os::check_range(offset, data.size(), mirror_.size());
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) medium_failed("write", path_, n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  std::copy(data.begin(), data.end(), mirror_.begin() + static_cast<std::ptrdiff_t>(offset));
}

void FileStorage::sync() {
  if (::fsync(fd_) != 0) medium_failed("fsync", path_, errno);
}

}  // namespace juki::sim
