#include "inc/utils.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace siam {

Json ReadJsonFile(const std::string &path) {
  std::ifstream in(path);
  if (!in) {
    throw AppError((IsDir(path) ? "expected a file, found a directory: " : "file not found: ") + path);
  }
  try {
    return Json::parse(in);
  } catch (const Json::exception &e) {
    // nlohmann's messages are one line ("[json.exception.parse_error.101] parse error at line 3 ...")
    throw AppError(path + " is not valid JSON: " + e.what());
  }
}

const Json &JsonAt(const Json &root, const std::string &dotted_key, const std::string &file) {
  const Json *node = &root;
  std::string walked;
  std::stringstream parts(dotted_key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    walked += (walked.empty() ? "" : ".") + part;
    if (!node->is_object() || !node->contains(part)) {
      throw AppError(file + ": missing key '" + walked + "'");
    }
    node = &(*node)[part];
  }
  return *node;
}

static AppError WrongType(const std::string &file, const std::string &key, const char *expected) {
  return AppError(file + ": key '" + key + "' should be " + expected);
}

double JsonNumber(const Json &root, const std::string &key, const std::string &file) {
  const Json &v = JsonAt(root, key, file);
  if (!v.is_number()) throw WrongType(file, key, "a number");
  return v.get<double>();
}

int64_t JsonInt(const Json &root, const std::string &key, const std::string &file) {
  const Json &v = JsonAt(root, key, file);
  if (!v.is_number_integer()) throw WrongType(file, key, "an integer");
  return v.get<int64_t>();
}

std::string JsonString(const Json &root, const std::string &key, const std::string &file) {
  const Json &v = JsonAt(root, key, file);
  if (!v.is_string()) throw WrongType(file, key, "a string");
  return v.get<std::string>();
}

bool JsonBool(const Json &root, const std::string &key, const std::string &file) {
  const Json &v = JsonAt(root, key, file);
  if (!v.is_boolean()) throw WrongType(file, key, "true or false");
  return v.get<bool>();
}

std::vector<double> JsonNumbers(const Json &root, const std::string &key, const std::string &file) {
  const Json &v = JsonAt(root, key, file);
  if (!v.is_array()) throw WrongType(file, key, "a list of numbers");
  std::vector<double> out;
  for (const Json &x : v) {
    if (!x.is_number()) throw WrongType(file, key, "a list of numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

bool IsFile(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string DirName(const std::string &path) {
  size_t pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  return pos == 0 ? "/" : path.substr(0, pos);
}

std::string JoinPath(const std::string &a, const std::string &b) {
  if (a.empty() || (!b.empty() && b[0] == '/')) return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

void MakeDirs(const std::string &path) {
  if (path.empty() || IsDir(path)) return;
  MakeDirs(DirName(path));
  if (mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) {
    throw AppError("cannot create directory " + path + ": " + std::strerror(errno));
  }
}

void AtomicWriteText(const std::string &path, const std::string &text) {
  std::string dir = DirName(path);
  MakeDirs(dir);
  std::string base = path.substr(path.find_last_of('/') + 1);
  std::string tmpl = JoinPath(dir, "." + base + ".XXXXXX");
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0) throw AppError("cannot create a temp file beside " + path + ": " + std::strerror(errno));
  std::string tmp(name.data());
  // mkstemp makes 0600 files; give the usual 0666 & ~umask, as results.atomic_path does
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  const char *data = text.data();
  size_t left = text.size();
  bool ok = true;
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  ok = (close(fd) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    unlink(tmp.c_str());
    throw AppError("cannot write " + path + ": " + why);
  }
}

bool IsComplete(const std::string &path, size_t expected_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty() || text.back() != '\n') return false;
  size_t lines = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r\f\v") == std::string::npos) return false;
    ++lines;
    start = end + 1;
  }
  return lines == expected_lines;
}

std::string VotFloat(double value) {
  // Python prints every NaN as "nan"; glibc would print a negative one as "-nan"
  if (std::isnan(value)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4f", static_cast<double>(static_cast<float>(value)));
  return buf;
}

std::string TimeLine(double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", seconds);
  return buf;
}

std::string ShapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace siam
