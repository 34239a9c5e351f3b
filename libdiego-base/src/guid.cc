#include "diego/base/guid.h"

#include <cstdint>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace diego {

std::string GenerateGuid() {
  // One generator per thread: no locking, and absl::BitGen seeds each one
  // from OS entropy.
  thread_local absl::BitGen gen;
  return GenerateGuid(gen);
}

std::string GenerateGuid(absl::BitGenRef gen) {
  uint64_t high = gen();
  uint64_t low = gen();
  // RFC 4122 section 4.4: version 4 in the top nibble of time_hi_and_version,
  // variant 10xx in the top bits of clock_seq_hi_and_reserved.
  high = (high & ~uint64_t{0xf000}) | uint64_t{0x4000};
  low = (low & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
                         high & 0xffff, low >> 48, low & 0xffffffffffff);
}

}  // namespace diego
