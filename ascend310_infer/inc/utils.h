/**
 * Small helpers shared by the inference application: one error type whose
 * message is the single line the user sees, checked JSON access that names
 * the file and the key, atomic text files, and the VOT result formatting of
 * src/evaluation/results.py.
 */
#ifndef ASCEND310_INFER_INC_UTILS_H_
#define ASCEND310_INFER_INC_UTILS_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace siam {

using Json = nlohmann::json;

/** Any input or runtime problem; what() is one line naming the file (and key/line). */
class AppError : public std::runtime_error {
 public:
  explicit AppError(const std::string &message) : std::runtime_error(message) {}
};

/** Parse a JSON file; a missing or malformed file is an AppError naming it. */
Json ReadJsonFile(const std::string &path);

/**
 * The value at a dotted key ("graphs.search.inputs") of a JSON document read
 * from `file`. Missing keys and wrong types raise AppError("FILE: ... 'key' ...").
 */
const Json &JsonAt(const Json &root, const std::string &dotted_key, const std::string &file);
double JsonNumber(const Json &root, const std::string &dotted_key, const std::string &file);
int64_t JsonInt(const Json &root, const std::string &dotted_key, const std::string &file);
std::string JsonString(const Json &root, const std::string &dotted_key, const std::string &file);
bool JsonBool(const Json &root, const std::string &dotted_key, const std::string &file);
std::vector<double> JsonNumbers(const Json &root, const std::string &dotted_key, const std::string &file);

bool IsFile(const std::string &path);
bool IsDir(const std::string &path);
std::string DirName(const std::string &path);
std::string JoinPath(const std::string &a, const std::string &b);
void MakeDirs(const std::string &path);

/** Write `text` to `path` through a temp file in the same directory, fsync and rename. */
void AtomicWriteText(const std::string &path, const std::string &text);

/**
 * True when `path` holds exactly `expected_lines` non-empty newline-terminated
 * lines (results.is_complete): a finished sequence a resumed run skips.
 */
bool IsComplete(const std::string &path, size_t expected_lines);

/** sprintf("%.4f", (float) v): pysot's vot_float2str, results.format_vot_line. */
std::string VotFloat(double value);

/** "{:.6f}" of a time in seconds, as eval.py writes <seq>_time.txt. */
std::string TimeLine(double seconds);

std::string ShapeString(const std::vector<int64_t> &shape);

}  // namespace siam

#endif  // ASCEND310_INFER_INC_UTILS_H_
