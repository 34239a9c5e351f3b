#include "diego/base/check.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace diego::check_internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition)
    : file_(file), line_(line), condition_(condition) {}

CheckFailure::CheckFailure(const char* file, int line, const char* condition,
                           const absl::Status& status)
    : file_(file), line_(line), condition_(condition), detail_(status.ToString()) {}

CheckFailure::~CheckFailure() {
  // Only the base name: full build paths make the line long and leak nothing
  // useful.
  absl::string_view file(file_);
  if (const size_t slash = file.rfind('/'); slash != absl::string_view::npos) {
    file.remove_prefix(slash + 1);
  }
  const std::string message = stream_.str();
  const std::string line = absl::StrCat(file, ":", line_, ": DIEGO_CHECK failed: ", condition_,
                                        detail_.empty() ? "" : absl::StrCat(" (", detail_, ")"),
                                        message.empty() ? "" : ": ", message, "\n");
  // Straight to stderr with one write: no logger or sink is involved, because
  // a broken invariant may be in the logging path itself.
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace diego::check_internal
