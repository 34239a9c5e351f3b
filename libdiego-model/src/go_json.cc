// Copyright 2026 The libdiego Authors.
//
// Go-JSON codec for diego.model.v1 messages. The encoder writes text directly
// (not through nlohmann's serializer) because Go's output differs from any
// generic serializer in ways that matter byte-for-byte: HTML-safe escaping,
// compaction of embedded raw JSON, and `MarshalIndent`'s layout. The decoder
// parses into an nlohmann::ordered_json tree that keeps every member in
// document order, duplicates included (so keys are handled one after the
// other, as Go does), and goes back to the input text only to recover the
// raw text of `ProtoRoutes` values.

#include "diego/model/go_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/const_init.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "diego/model/errors.h"
#include "diego/model/internal/go_json_string.h"
#include "diego/model/v1/go_json.pb.h"
#include "diego/model/wire.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace diego::model {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::EnumValueDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::OneofDescriptor;
using ::google::protobuf::Reflection;
using Json = ::nlohmann::ordered_json;

constexpr absl::string_view kRoutesMessage = "diego.model.v1.ProtoRoutes";
constexpr char kHex[] = "0123456789abcdef";
// Deeper documents are refused rather than risking the stack; protobuf's own
// parser refuses messages nested deeper than 100 as well.
constexpr int kMaxMessageDepth = 100;

// ---------------------------------------------------------------------------
// Per-message key layout ("plan"): Go's flattened struct field list.
// ---------------------------------------------------------------------------

enum class EntryKind {
  kField,         // An ordinary field.
  kOneofWrapper,  // A oneof written as "Wrapper":{member} (go_json_wrapper).
  kOneofMember,   // A oneof member written flat, only when set.
};

struct Entry {
  std::string key;
  EntryKind kind = EntryKind::kField;
  // Embedded (go_embed) fields leading from the planned message to the
  // message that holds `field` / `oneof`.
  std::vector<const FieldDescriptor*> embed_path;
  const FieldDescriptor* field = nullptr;
  const OneofDescriptor* oneof = nullptr;
  bool omitempty = false;
  int depth = 0;
};

struct Plan {
  std::vector<Entry> entries;  // Encoding order.
  // Flat keys of wrapped oneof members; accepted when decoding only.
  std::vector<Entry> aliases;
  std::unordered_map<std::string, size_t> entry_index;
  std::unordered_map<std::string, size_t> alias_index;

  const Entry* Find(const std::string& key) const {
    if (auto it = entry_index.find(key); it != entry_index.end()) {
      return &entries[it->second];
    }
    if (auto it = alias_index.find(key); it != alias_index.end()) {
      return &aliases[it->second];
    }
    // Go falls back to a case-insensitive match, first field in order wins.
    for (const Entry& e : entries) {
      if (absl::EqualsIgnoreCase(e.key, key)) return &e;
    }
    for (const Entry& e : aliases) {
      if (absl::EqualsIgnoreCase(e.key, key)) return &e;
    }
    return nullptr;
  }
};

std::string JsonKey(const FieldDescriptor* f) {
  return f->has_json_name() ? f->json_name() : f->name();
}

bool OmitEmpty(const FieldDescriptor* f) { return f->options().GetExtension(v1::go_omitempty); }

bool NonNullable(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
         f->options().GetExtension(v1::go_non_nullable);
}

bool IsEmbed(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
         f->options().GetExtension(v1::go_embed);
}

bool IsRoutes(const Descriptor* d) { return d->full_name() == kRoutesMessage; }

void CollectEntries(const Descriptor* d, std::vector<const FieldDescriptor*>* path,
                    std::vector<Entry>* out, std::vector<Entry>* aliases) {
  const int depth = static_cast<int>(path->size());
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    Entry e;
    e.embed_path = *path;
    e.depth = depth;
    e.field = f;
    e.omitempty = OmitEmpty(f);
    e.key = JsonKey(f);
    if (const OneofDescriptor* oneof = f->containing_oneof(); oneof != nullptr) {
      const std::string& wrapper = oneof->options().GetExtension(v1::go_json_wrapper);
      if (!wrapper.empty() && f->real_containing_oneof() != nullptr) {
        // Go's interface field sits where the oneof's first member is declared.
        if (oneof->field(0) == f) {
          Entry w;
          w.key = wrapper;
          w.kind = EntryKind::kOneofWrapper;
          w.embed_path = *path;
          w.oneof = oneof;
          w.depth = depth;
          out->push_back(std::move(w));
        }
        e.kind = EntryKind::kOneofMember;
        aliases->push_back(std::move(e));
        continue;
      }
      e.kind = EntryKind::kOneofMember;
      out->push_back(std::move(e));
      continue;
    }
    // An embed cycle cannot be expressed in Go; the bound only guards against a
    // malformed schema.
    if (IsEmbed(f) && path->size() < 16) {
      path->push_back(f);
      CollectEntries(f->message_type(), path, out, aliases);
      path->pop_back();
      continue;
    }
    out->push_back(std::move(e));
  }
}

// Go's dominance rule for promoted fields: the shallowest key wins; several at
// the shallowest depth cancel each other out.
std::vector<Entry> ResolveDominance(std::vector<Entry> all) {
  std::unordered_map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < all.size(); ++i) by_key[all[i].key].push_back(i);
  std::vector<bool> keep(all.size(), true);
  for (const auto& [key, indexes] : by_key) {
    if (indexes.size() < 2) continue;
    int min_depth = std::numeric_limits<int>::max();
    for (size_t i : indexes) min_depth = std::min(min_depth, all[i].depth);
    int at_min = 0;
    for (size_t i : indexes) at_min += all[i].depth == min_depth ? 1 : 0;
    for (size_t i : indexes) keep[i] = at_min == 1 && all[i].depth == min_depth;
  }
  std::vector<Entry> out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (keep[i]) out.push_back(std::move(all[i]));
  }
  return out;
}

std::unique_ptr<Plan> BuildPlan(const Descriptor* d) {
  auto plan = std::make_unique<Plan>();
  std::vector<const FieldDescriptor*> path;
  std::vector<Entry> entries;
  std::vector<Entry> aliases;
  CollectEntries(d, &path, &entries, &aliases);
  plan->entries = ResolveDominance(std::move(entries));
  for (size_t i = 0; i < plan->entries.size(); ++i) {
    plan->entry_index.emplace(plan->entries[i].key, i);
  }
  for (Entry& alias : ResolveDominance(std::move(aliases))) {
    if (plan->entry_index.count(alias.key) != 0) continue;
    plan->alias_index.emplace(alias.key, plan->aliases.size());
    plan->aliases.push_back(std::move(alias));
  }
  return plan;
}

const Plan& PlanFor(const Descriptor* d) {
  ABSL_CONST_INIT static absl::Mutex mu(absl::kConstInit);
  static auto* const plans = new std::unordered_map<const Descriptor*, std::unique_ptr<Plan>>();
  absl::MutexLock lock(&mu);
  std::unique_ptr<Plan>& slot = (*plans)[d];
  if (slot == nullptr) slot = BuildPlan(d);
  return *slot;
}

// ---------------------------------------------------------------------------
// Go-style text output.
// ---------------------------------------------------------------------------

// Decodes one UTF-8 sequence like Go's utf8.DecodeRuneInString; returns the
// rune and its length, or (-1, 1) for an invalid byte.
std::pair<int32_t, size_t> DecodeRune(absl::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) -> int {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 < 0x80) return {b0, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    const int c1 = cont(1);
    if (c1 < 0) return {-1, 1};
    return {((b0 & 0x1F) << 6) | c1, 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const int c1 = cont(1);
    const int c2 = cont(2);
    if (c1 < 0 || c2 < 0) return {-1, 1};
    const int32_t r = ((b0 & 0x0F) << 12) | (c1 << 6) | c2;
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return {-1, 1};
    return {r, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const int c1 = cont(1);
    const int c2 = cont(2);
    const int c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return {-1, 1};
    const int32_t r = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (r < 0x10000 || r > 0x10FFFF) return {-1, 1};
    return {r, 4};
  }
  return {-1, 1};
}

// Mirrors encoding/json's encodeState.string with HTML escaping on (what
// json.Marshal uses), including Go 1.22's short `\b` and `\f` escapes.
void AppendGoString(absl::string_view s, std::string* out) {
  out->push_back('"');
  size_t start = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
        ++i;
        continue;
      }
      out->append(s.data() + start, i - start);
      switch (b) {
        case '\\':
        case '"':
          out->push_back('\\');
          out->push_back(static_cast<char>(b));
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          out->append("\\u00");
          out->push_back(kHex[b >> 4]);
          out->push_back(kHex[b & 0xF]);
      }
      start = ++i;
      continue;
    }
    const auto [rune, size] = DecodeRune(s, i);
    if (rune < 0) {
      out->append(s.data() + start, i - start);
      out->append("\\ufffd");
      start = ++i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      out->append(s.data() + start, i - start);
      out->append("\\u202");
      out->push_back(kHex[rune & 0xF]);
      i += size;
      start = i;
      continue;
    }
    i += size;
  }
  out->append(s.data() + start, s.size() - start);
  out->push_back('"');
}

// Status messages travel inside a serialized v1::Error (a proto3 string), so
// they must be valid UTF-8 even when they quote broken input.
std::string ValidUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto [rune, size] = DecodeRune(s, i);
    if (rune < 0) {
      out.append("\xef\xbf\xbd");  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.data() + i, size);
    i += size;
  }
  return out;
}

absl::Status InvalidJson(absl::string_view message) {
  return BbsError(v1::Error::InvalidJSON, ValidUtf8(message));
}

// Mirrors encoding/json's compact(): drops insignificant whitespace and
// escapes <, >, &, U+2028 and U+2029. `raw` must be valid JSON.
void AppendCompactJson(absl::string_view raw, std::string* out) {
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '<' || c == '>' || c == '&') {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
      escaped = false;
      continue;
    }
    if (c == 0xE2 && i + 2 < raw.size() && static_cast<unsigned char>(raw[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(raw[i + 2]) & ~1) == 0xA8) {
      out->append("\\u202");
      out->push_back(kHex[static_cast<unsigned char>(raw[i + 2]) & 0xF]);
      i += 2;
      escaped = false;
      continue;
    }
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      out->push_back(static_cast<char>(c));
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '"') in_string = true;
    out->push_back(static_cast<char>(c));
  }
}

// Mirrors encoding/json's Indent() with an empty prefix, applied to compact
// output (so every byte outside strings is a token).
std::string IndentLikeGo(absl::string_view compact, absl::string_view indent) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  bool need_indent = false;
  bool in_string = false;
  bool escaped = false;
  auto newline = [&]() {
    out.push_back('\n');
    for (int i = 0; i < depth; ++i) out.append(indent.data(), indent.size());
  };
  for (const char c : compact) {
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (need_indent && c != '}' && c != ']') {
      need_indent = false;
      ++depth;
      newline();
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        need_indent = true;
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.push_back(c);
        out.push_back(' ');
        break;
      case '}':
      case ']':
        if (need_indent) {
          need_indent = false;  // Empty object or array stays on one line.
        } else {
          --depth;
          newline();
        }
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Go's float encoding (encoding/json floatEncoder): the shortest digits that
// round-trip, in plain notation, or in exponent notation outside [1e-6, 1e21)
// with a one-digit negative exponent ("1e-7", "1e+21").
void AppendGoFloat(double v, int bits, std::string* out) {
  const std::string s =
      bits == 32 ? fmt::format("{}", static_cast<float>(v)) : fmt::format("{}", v);
  // Split fmt's shortest form into digits and a decimal point position:
  // value = 0.<digits> * 10^point.
  bool negative = false;
  std::string digits;
  int point = 0;
  int exponent = 0;
  bool seen_dot = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '-' && i == 0) {
      negative = true;
    } else if (c == '.') {
      seen_dot = true;
    } else if (c == 'e' || c == 'E') {
      (void)absl::SimpleAtoi(absl::string_view(s).substr(i + 1), &exponent);
      break;
    } else {
      if (!seen_dot) ++point;
      digits.push_back(c);
    }
  }
  size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  digits.erase(0, lead);
  point -= static_cast<int>(lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  point += exponent;
  if (negative) out->push_back('-');
  if (digits.empty()) {
    out->push_back('0');
    return;
  }
  const double abs = std::fabs(v);
  if (abs < 1e-6 || abs >= 1e21) {
    out->push_back(digits[0]);
    if (digits.size() > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    const int e = point - 1;
    out->push_back('e');
    out->push_back(e < 0 ? '-' : '+');
    const int mag = e < 0 ? -e : e;
    if (e >= 0 && mag < 10) out->push_back('0');
    absl::StrAppend(out, mag);
    return;
  }
  const int n = static_cast<int>(digits.size());
  if (point <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-point), '0');
    out->append(digits);
  } else if (point >= n) {
    out->append(digits);
    out->append(static_cast<size_t>(point - n), '0');
  } else {
    out->append(digits, 0, static_cast<size_t>(point));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(point), std::string::npos);
  }
}

// ---------------------------------------------------------------------------
// Encoder.
// ---------------------------------------------------------------------------

class Encoder {
 public:
  absl::Status Run(const Message& message, std::string* out) {
    out_ = out;
    return WriteMessage(message);
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return InvalidJson(absl::StrCat("invalid JSON at \"", absl::StrJoin(path_, "."), "\": ", what));
  }

  void WriteKey(absl::string_view key, bool* first) {
    if (!*first) out_->push_back(',');
    *first = false;
    AppendGoString(key, out_);
    out_->push_back(':');
  }

  // Counts nesting as the decoder does (embedded messages are flattened and
  // do not count), so whatever is written can be read back; the bound also
  // keeps a hostile, hand-built message from exhausting the stack.
  absl::Status WriteMessage(const Message& m) {
    if (depth_ >= kMaxMessageDepth) return Error("message nested too deeply");
    ++depth_;
    absl::Status s = WriteMessageBody(m);
    --depth_;
    return s;
  }

  absl::Status WriteMessageBody(const Message& m) {
    const Descriptor* d = m.GetDescriptor();
    if (IsRoutes(d)) return WriteRoutes(m);
    const Plan& plan = PlanFor(d);
    out_->push_back('{');
    bool first = true;
    for (const Entry& e : plan.entries) {
      const Message* holder = &m;
      for (const FieldDescriptor* embed : e.embed_path) {
        const Reflection* r = holder->GetReflection();
        if (!NonNullable(embed) && !r->HasField(*holder, embed)) {
          holder = nullptr;  // A nil embedded pointer contributes no keys.
          break;
        }
        holder = &r->GetMessage(*holder, embed);
      }
      if (holder == nullptr) continue;
      path_.push_back(e.key);
      absl::Status s = WriteEntry(*holder, e, &first);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    out_->push_back('}');
    return absl::OkStatus();
  }

  // Writes one key of the plan (or nothing, when Go would omit it). The
  // cases follow encoding/json's rules for the Go type gogo generates: value
  // fields are never nil, pointers/slices/maps are nil when unset or empty
  // after a protobuf decode, and omitempty drops zero values and nil pointers.
  absl::Status WriteEntry(const Message& m, const Entry& e, bool* first) {
    const Reflection* r = m.GetReflection();
    switch (e.kind) {
      case EntryKind::kOneofWrapper: {
        // Plain encoding/json on gogo's oneof interface field: nil -> null,
        // otherwise the wrapper struct (e.g. ActualLRP_Routable) as an object
        // whose single field carries the member's own tag and omitempty.
        WriteKey(e.key, first);
        const FieldDescriptor* member = r->GetOneofFieldDescriptor(m, e.oneof);
        if (member == nullptr) {
          out_->append("null");
          return absl::OkStatus();
        }
        out_->push_back('{');
        if (!(OmitEmpty(member) && IsZeroScalar(m, member))) {
          bool inner_first = true;
          WriteKey(JsonKey(member), &inner_first);
          path_.push_back(JsonKey(member));
          absl::Status s = WriteSingular(m, member);
          path_.pop_back();
          if (!s.ok()) return s;
        }
        out_->push_back('}');
        return absl::OkStatus();
      }
      case EntryKind::kOneofMember:
        // Diego's custom marshallers copy a present member into a pointer
        // field tagged omitempty: written when present, even if zero.
        if (!r->HasField(m, e.field)) return absl::OkStatus();
        WriteKey(e.key, first);
        return WriteSingular(m, e.field);
      case EntryKind::kField:
        break;
    }
    const FieldDescriptor* f = e.field;
    if (f->is_repeated()) {
      // A protobuf decode leaves an empty list or map nil in Go, so without
      // omitempty it is null, unless a custom marshaller (CellPresence) swaps
      // a nil map for an empty one.
      const int size = r->FieldSize(m, f);
      if (size == 0) {
        if (e.omitempty) return absl::OkStatus();
        WriteKey(e.key, first);
        const bool as_object = f->is_map() && f->options().GetExtension(v1::go_nil_map_as_object);
        out_->append(as_object ? "{}" : "null");
        return absl::OkStatus();
      }
      WriteKey(e.key, first);
      return f->is_map() ? WriteMap(m, f) : WriteArray(m, f);
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // nullable=false fields are Go struct values: always an object.
      if (!r->HasField(m, f) && !NonNullable(f)) {
        if (e.omitempty) return absl::OkStatus();
        WriteKey(e.key, first);
        out_->append("null");
        return absl::OkStatus();
      }
      // Except `Routes`, which is a Go map: held by value
      // (DesiredLRPSchedulingInfo.routes) it is nil whenever it has no
      // entries, both after a protobuf decode and when the BBS builds it
      // from a DesiredLRP without routes.
      if (NonNullable(f) && IsRoutes(f->message_type()) && IsEmptyRoutes(r->GetMessage(m, f))) {
        if (e.omitempty) return absl::OkStatus();
        WriteKey(e.key, first);
        out_->append("null");
        return absl::OkStatus();
      }
      WriteKey(e.key, first);
      return WriteMessage(r->GetMessage(m, f));
    }
    if (e.omitempty && IsZeroScalar(m, f)) return absl::OkStatus();
    WriteKey(e.key, first);
    return WriteSingular(m, f);
  }

  static bool IsEmptyRoutes(const Message& routes) {
    std::vector<const FieldDescriptor*> set;
    routes.GetReflection()->ListFields(routes, &set);
    return set.empty();
  }

  static bool IsZeroScalar(const Message& m, const FieldDescriptor* f) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return r->GetInt32(m, f) == 0;
      case FieldDescriptor::CPPTYPE_INT64:
        return r->GetInt64(m, f) == 0;
      case FieldDescriptor::CPPTYPE_UINT32:
        return r->GetUInt32(m, f) == 0;
      case FieldDescriptor::CPPTYPE_UINT64:
        return r->GetUInt64(m, f) == 0;
      case FieldDescriptor::CPPTYPE_FLOAT:
        return r->GetFloat(m, f) == 0;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return r->GetDouble(m, f) == 0;
      case FieldDescriptor::CPPTYPE_BOOL:
        return !r->GetBool(m, f);
      case FieldDescriptor::CPPTYPE_ENUM:
        return r->GetEnumValue(m, f) == 0;
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        return r->GetStringReference(m, f, &scratch).empty();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        // A set oneof member message is a non-nil pointer: never omitted.
        return !r->HasField(m, f);
    }
    return false;
  }

  absl::Status WriteSingular(const Message& m, const FieldDescriptor* f) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        absl::StrAppend(out_, r->GetInt32(m, f));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT64:
        absl::StrAppend(out_, r->GetInt64(m, f));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT32:
        absl::StrAppend(out_, r->GetUInt32(m, f));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT64:
        absl::StrAppend(out_, r->GetUInt64(m, f));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_FLOAT:
        return WriteFloat(r->GetFloat(m, f), 32);
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return WriteFloat(r->GetDouble(m, f), 64);
      case FieldDescriptor::CPPTYPE_BOOL:
        out_->append(r->GetBool(m, f) ? "true" : "false");
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_ENUM:
        WriteEnum(f->enum_type(), r->GetEnumValue(m, f));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& s = r->GetStringReference(m, f, &scratch);
        WriteString(f, s);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return WriteMessage(r->GetMessage(m, f));
    }
    return absl::OkStatus();
  }

  absl::Status WriteElement(const Message& m, const FieldDescriptor* f, int i) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        absl::StrAppend(out_, r->GetRepeatedInt32(m, f, i));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT64:
        absl::StrAppend(out_, r->GetRepeatedInt64(m, f, i));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT32:
        absl::StrAppend(out_, r->GetRepeatedUInt32(m, f, i));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT64:
        absl::StrAppend(out_, r->GetRepeatedUInt64(m, f, i));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_FLOAT:
        return WriteFloat(r->GetRepeatedFloat(m, f, i), 32);
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return WriteFloat(r->GetRepeatedDouble(m, f, i), 64);
      case FieldDescriptor::CPPTYPE_BOOL:
        out_->append(r->GetRepeatedBool(m, f, i) ? "true" : "false");
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_ENUM:
        WriteEnum(f->enum_type(), r->GetRepeatedEnumValue(m, f, i));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        WriteString(f, r->GetRepeatedStringReference(m, f, i, &scratch));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return WriteMessage(r->GetRepeatedMessage(m, f, i));
    }
    return absl::OkStatus();
  }

  void WriteString(const FieldDescriptor* f, const std::string& s) {
    if (f->type() == FieldDescriptor::TYPE_BYTES) {
      AppendGoString(absl::Base64Escape(s), out_);  // Go []byte: std base64.
    } else {
      AppendGoString(s, out_);
    }
  }

  void WriteEnum(const EnumDescriptor* ed, int value) {
    if (ed->options().GetExtension(v1::go_json_as_number)) {
      absl::StrAppend(out_, value);
      return;
    }
    const EnumValueDescriptor* v = ed->FindValueByNumber(value);
    // proto.EnumName (behind Go's String()) falls back to the number.
    AppendGoString(v != nullptr ? v->name() : absl::StrCat(value), out_);
  }

  absl::Status WriteFloat(double v, int bits) {
    if (std::isnan(v) || std::isinf(v)) {
      return Error(absl::StrCat("unsupported float value ", v));
    }
    AppendGoFloat(v, bits, out_);
    return absl::OkStatus();
  }

  absl::Status WriteArray(const Message& m, const FieldDescriptor* f) {
    out_->push_back('[');
    const int size = m.GetReflection()->FieldSize(m, f);
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_->push_back(',');
      absl::Status s = WriteElement(m, f, i);
      if (!s.ok()) return s;
    }
    out_->push_back(']');
    return absl::OkStatus();
  }

  static std::string MapKeyText(const Message& entry) {
    const FieldDescriptor* kf = entry.GetDescriptor()->map_key();
    const Reflection* r = entry.GetReflection();
    switch (kf->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return absl::StrCat(r->GetInt32(entry, kf));
      case FieldDescriptor::CPPTYPE_INT64:
        return absl::StrCat(r->GetInt64(entry, kf));
      case FieldDescriptor::CPPTYPE_UINT32:
        return absl::StrCat(r->GetUInt32(entry, kf));
      case FieldDescriptor::CPPTYPE_UINT64:
        return absl::StrCat(r->GetUInt64(entry, kf));
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->GetBool(entry, kf) ? "true" : "false";
      default:
        return r->GetString(entry, kf);
    }
  }

  // Go sorts map keys (as strings) before writing them.
  static std::vector<std::pair<std::string, const Message*>> SortedEntries(
      const Message& m, const FieldDescriptor* f) {
    const Reflection* r = m.GetReflection();
    std::vector<std::pair<std::string, const Message*>> entries;
    const int size = r->FieldSize(m, f);
    entries.reserve(size);
    for (int i = 0; i < size; ++i) {
      const Message& entry = r->GetRepeatedMessage(m, f, i);
      entries.emplace_back(MapKeyText(entry), &entry);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return entries;
  }

  absl::Status WriteMap(const Message& m, const FieldDescriptor* f) {
    out_->push_back('{');
    bool first = true;
    const FieldDescriptor* vf = f->message_type()->map_value();
    for (const auto& [key, entry] : SortedEntries(m, f)) {
      WriteKey(key, &first);
      path_.push_back(key);
      absl::Status s = WriteSingular(*entry, vf);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    out_->push_back('}');
    return absl::OkStatus();
  }

  // Routes is map[string]*json.RawMessage in Go: each value is the stored JSON
  // text, compacted the way encoding/json compacts a RawMessage.
  absl::Status WriteRoutes(const Message& m) {
    const FieldDescriptor* f = m.GetDescriptor()->FindFieldByNumber(1);
    if (f == nullptr || !f->is_map()) return Error("malformed ProtoRoutes descriptor");
    const FieldDescriptor* vf = f->message_type()->map_value();
    out_->push_back('{');
    bool first = true;
    for (const auto& [key, entry] : SortedEntries(m, f)) {
      WriteKey(key, &first);
      const std::string& raw = entry->GetReflection()->GetString(*entry, vf);
      if (raw.empty()) {
        out_->append("null");
        continue;
      }
      if (!Json::accept(raw)) {
        path_.push_back(key);
        absl::Status s = Error("route value is not valid JSON");
        path_.pop_back();
        return s;
      }
      AppendCompactJson(raw, out_);
    }
    out_->push_back('}');
    return absl::OkStatus();
  }

  std::string* out_ = nullptr;
  std::vector<std::string> path_;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------
// Document tree and raw-text index.
// ---------------------------------------------------------------------------

// Builds the document tree for the decoder. Unlike nlohmann's own DOM parser
// it appends every object member as it comes, duplicates included: an
// ordered_json object looks each new key up with a linear scan, which makes
// a document with many keys take quadratic time, and Go processes duplicate
// keys one after the other anyway. Iterative, like nlohmann's parser.
class DomBuilder {
 public:
  explicit DomBuilder(Json* root) : root_(root) {}

  bool null() { return Put(Json(nullptr)) != nullptr; }
  bool boolean(bool v) { return Put(Json(v)) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return Put(Json(v)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(Json(v)) != nullptr; }
  bool number_float(Json::number_float_t v, const Json::string_t& /*text*/) {
    return Put(Json(v)) != nullptr;
  }
  bool string(Json::string_t& v) { return Put(Json(std::move(v))) != nullptr; }
  bool binary(Json::binary_t& /*v*/) { return false; }  // Not produced by JSON text.
  bool start_object(std::size_t /*elements*/) {
    stack_.push_back(Put(Json(Json::value_t::object)));
    return true;
  }
  bool key(Json::string_t& k) {
    auto& members =
        static_cast<Json::object_t::Container&>(*stack_.back()->get_ptr<Json::object_t*>());
    members.emplace_back(std::move(k), Json());
    member_ = &members.back().second;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) {
    stack_.push_back(Put(Json(Json::value_t::array)));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    error_position_ = position;
    error_is_syntax_ = dynamic_cast<const Json::parse_error*>(&e) != nullptr;
    error_ = e.what();
    return false;
  }

  std::size_t error_position() const { return error_position_; }
  bool error_is_syntax() const { return error_is_syntax_; }
  const std::string& error() const { return error_; }

 private:
  // Stores a finished value where the parser is: the root, the next element
  // of the innermost array, or the member whose key was just read. Pointers
  // on the stack stay valid: a container only grows after its open child
  // has been closed.
  Json* Put(Json&& value) {
    if (stack_.empty()) {
      *root_ = std::move(value);
      return root_;
    }
    if (Json* top = stack_.back(); top->is_array()) {
      auto* elements = top->get_ptr<Json::array_t*>();
      elements->push_back(std::move(value));
      return &elements->back();
    }
    *member_ = std::move(value);
    return member_;
  }

  Json* root_;
  std::vector<Json*> stack_;
  Json* member_ = nullptr;
  std::size_t error_position_ = 0;
  bool error_is_syntax_ = false;
  std::string error_;
};

// One step of a decoder path: the key (for messages) or index (for error
// messages) plus the value's position among its container's members or
// elements, which addresses the same value in the raw text.
struct PathSegment {
  std::string key;     // Object key as it appears (unescaped) in the document.
  int64_t index = -1;  // Array index, or -1 for an object key.
  size_t position = 0;
};

// Finds the exact input text of values in an already validated JSON document
// (used for ProtoRoutes values, which Go keeps as json.RawMessage). Values
// are addressed by position, which matches the document tree because that
// keeps every member in document order. Each container is scanned at most
// once and its children remembered, so looking up the values of many routes
// objects stays linear in the document size.
class RawIndex {
 public:
  explicit RawIndex(absl::string_view text) : text_(text) {}

  // The raw text of each child (member value or element) of the container
  // reached from the document root through `path`, or null when the document
  // does not have that shape.
  const std::vector<absl::string_view>* ChildrenAt(const std::vector<PathSegment>& path) {
    size_t pos = SkipWs(0);
    for (const PathSegment& seg : path) {
      const std::vector<absl::string_view>* children = ChildrenOf(pos);
      if (children == nullptr || seg.position >= children->size()) return nullptr;
      pos = static_cast<size_t>((*children)[seg.position].data() - text_.data());
    }
    return ChildrenOf(pos);
  }

 private:
  static constexpr size_t kFail = absl::string_view::npos;

  const std::vector<absl::string_view>* ChildrenOf(size_t pos) {
    if (auto it = children_.find(pos); it != children_.end()) return &it->second;
    std::vector<absl::string_view> children;
    if (!Scan(pos, &children)) return nullptr;
    return &children_.emplace(pos, std::move(children)).first->second;
  }

  bool Scan(size_t pos, std::vector<absl::string_view>* children) const {
    if (pos >= text_.size() || (text_[pos] != '{' && text_[pos] != '[')) return false;
    const bool object = text_[pos] == '{';
    const char close = object ? '}' : ']';
    size_t i = SkipWs(pos + 1);
    if (i < text_.size() && text_[i] == close) return true;
    while (i < text_.size()) {
      if (object) {
        i = SkipString(i);
        if (i == kFail) return false;
        i = SkipWs(i);
        if (i >= text_.size() || text_[i] != ':') return false;
        i = SkipWs(i + 1);
      }
      const size_t start = i;
      i = SkipValue(i);
      if (i == kFail) return false;
      children->push_back(text_.substr(start, i - start));
      i = SkipWs(i);
      if (i >= text_.size()) return false;
      if (text_[i] == close) return true;
      if (text_[i] != ',') return false;
      i = SkipWs(i + 1);
    }
    return false;
  }

  size_t SkipWs(size_t i) const {
    while (i < text_.size() &&
           (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) {
      ++i;
    }
    return i;
  }

  // Returns the position after the string starting at `i`.
  size_t SkipString(size_t i) const {
    if (i >= text_.size() || text_[i] != '"') return kFail;
    for (++i; i < text_.size(); ++i) {
      if (text_[i] == '\\') {
        ++i;
      } else if (text_[i] == '"') {
        return i + 1;
      }
    }
    return kFail;
  }

  // Returns the position after the value starting at `i`. Iterative: the
  // document is already known to be valid, so brackets outside strings
  // balance.
  size_t SkipValue(size_t i) const {
    if (i >= text_.size()) return kFail;
    const char c = text_[i];
    if (c == '"') return SkipString(i);
    if (c == '{' || c == '[') {
      size_t depth = 0;
      while (i < text_.size()) {
        const char ch = text_[i];
        if (ch == '"') {
          i = SkipString(i);
          if (i == kFail) return kFail;
          continue;
        }
        if (ch == '{' || ch == '[') {
          ++depth;
        } else if (ch == '}' || ch == ']') {
          if (--depth == 0) return i + 1;
        }
        ++i;
      }
      return kFail;
    }
    const size_t start = i;
    while (i < text_.size() && absl::string_view("+-.0123456789eEtruefalsn").find(text_[i]) !=
                                   absl::string_view::npos) {
      ++i;
    }
    return i > start ? i : kFail;
  }

  absl::string_view text_;
  std::unordered_map<size_t, std::vector<absl::string_view>> children_;
};

// ---------------------------------------------------------------------------
// Decoder.
// ---------------------------------------------------------------------------

class Decoder {
 public:
  explicit Decoder(absl::string_view text) : raw_(text) {}

  absl::Status DecodeMessage(const Json& j, Message* m) {
    if (j.is_null()) return absl::OkStatus();
    if (++depth_ > kMaxMessageDepth) return Error("document nested too deeply");
    absl::Status s = DecodeMessageBody(j, m);
    --depth_;
    return s;
  }

 private:
  std::string PathString() const {
    std::string out;
    for (const PathSegment& seg : path_) {
      if (seg.index >= 0) {
        absl::StrAppend(&out, "[", seg.index, "]");
      } else {
        if (!out.empty()) out.push_back('.');
        out.append(seg.key);
      }
    }
    return out;
  }

  absl::Status Error(absl::string_view what) const {
    if (path_.empty()) return InvalidJson(absl::StrCat("invalid JSON at top level: ", what));
    return InvalidJson(absl::StrCat("invalid JSON at \"", PathString(), "\": ", what));
  }

  static const char* TypeName(const Json& j) {
    switch (j.type()) {
      case Json::value_t::null:
        return "null";
      case Json::value_t::object:
        return "an object";
      case Json::value_t::array:
        return "an array";
      case Json::value_t::string:
        return "a string";
      case Json::value_t::boolean:
        return "a boolean";
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float:
        return "a number";
      default:
        return "an unsupported value";
    }
  }

  absl::Status Expected(absl::string_view what, const Json& j) const {
    return Error(absl::StrCat("expected ", what, ", got ", TypeName(j)));
  }

  // Mirrors encoding/json's object decoding: each key of the document, in
  // order (duplicates included, each in turn), is matched to a field (exact,
  // then case-insensitive); unknown keys are skipped; a promoted key first
  // allocates the embedded struct holding it (Go does this even when the
  // value is null).
  absl::Status DecodeMessageBody(const Json& j, Message* m) {
    const Descriptor* d = m->GetDescriptor();
    if (IsRoutes(d)) return DecodeRoutes(j, m);
    if (!j.is_object()) return Expected("an object", j);
    const Plan& plan = PlanFor(d);
    size_t position = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++position) {
      const Entry* e = plan.Find(it.key());
      if (e == nullptr) continue;  // Go ignores unknown keys.
      Message* holder = m;
      for (const FieldDescriptor* embed : e->embed_path) {
        holder = holder->GetReflection()->MutableMessage(holder, embed);
      }
      path_.push_back({it.key(), -1, position});
      absl::Status s = DecodeEntry(it.value(), holder, *e);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status DecodeEntry(const Json& v, Message* m, const Entry& e) {
    const Reflection* r = m->GetReflection();
    switch (e.kind) {
      case EntryKind::kOneofWrapper:
        return DecodeWrapper(v, m, e.oneof);
      case EntryKind::kOneofMember:
        if (v.is_null()) {
          r->ClearField(m, e.field);
          return absl::OkStatus();
        }
        return DecodeSingular(v, m, e.field);
      case EntryKind::kField:
        break;
    }
    const FieldDescriptor* f = e.field;
    if (v.is_null()) {
      r->ClearField(m, f);
      return absl::OkStatus();
    }
    if (f->is_map()) return DecodeMap(v, m, f);
    if (f->is_repeated()) return DecodeRepeated(v, m, f);
    return DecodeSingular(v, m, f);
  }

  absl::Status DecodeWrapper(const Json& v, Message* m, const OneofDescriptor* oneof) {
    const Reflection* r = m->GetReflection();
    if (v.is_null()) {
      r->ClearOneof(m, oneof);
      return absl::OkStatus();
    }
    if (!v.is_object()) return Expected("an object", v);
    bool matched = false;
    size_t position = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++position) {
      const FieldDescriptor* member = nullptr;
      for (int i = 0; i < oneof->field_count() && member == nullptr; ++i) {
        if (JsonKey(oneof->field(i)) == it.key()) member = oneof->field(i);
      }
      for (int i = 0; i < oneof->field_count() && member == nullptr; ++i) {
        if (absl::EqualsIgnoreCase(JsonKey(oneof->field(i)), it.key())) member = oneof->field(i);
      }
      if (member == nullptr) continue;
      matched = true;
      path_.push_back({it.key(), -1, position});
      absl::Status s = DecodeSingular(it.value(), m, member);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    // A non-nil wrapper whose member was omitted (omitempty) holds the zero
    // value; with a single member there is no doubt which one.
    if (!matched && oneof->field_count() == 1) {
      return DecodeSingular(Json(), m, oneof->field(0));
    }
    return absl::OkStatus();
  }

  // Integer range check shared by every integer type. Go parses the literal
  // with strconv for the field's exact type, so a fraction, an exponent or a
  // value out of range is an error, never a silent truncation.
  absl::Status ReadInteger(const Json& v, absl::string_view type_name, int64_t min, uint64_t max,
                           int64_t* signed_out, uint64_t* unsigned_out) const {
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > max) return Error(absl::StrCat("number ", u, " overflows ", type_name));
      *unsigned_out = u;
      *signed_out = static_cast<int64_t>(u);
      return absl::OkStatus();
    }
    if (v.is_number_integer()) {
      const auto i = v.get<int64_t>();
      if (i < min) return Error(absl::StrCat("number ", i, " overflows ", type_name));
      *signed_out = i;
      *unsigned_out = static_cast<uint64_t>(i);
      return absl::OkStatus();
    }
    if (v.is_number_float()) {
      return Error(absl::StrCat("expected an integer (", type_name, "), got ", v.dump()));
    }
    return Expected(absl::StrCat("a number (", type_name, ")"), v);
  }

  // Diego's enum UnmarshalJSONs take the value name; plain Go int32 enums
  // (go_json_as_number) take a number. Both forms are accepted for either,
  // plus the decimal string our encoder writes for unnamed values.
  absl::StatusOr<int> ReadEnum(const Json& v, const EnumDescriptor* ed) const {
    if (v.is_string()) {
      const auto& name = v.get_ref<const std::string&>();
      if (const EnumValueDescriptor* ev = ed->FindValueByName(name); ev != nullptr) {
        return ev->number();
      }
      int32_t number = 0;
      if (absl::SimpleAtoi(name, &number)) return number;
      return Error(absl::StrCat("unknown ", ed->full_name(), " value \"", name, "\""));
    }
    if (v.is_number()) {
      int64_t i = 0;
      uint64_t u = 0;
      absl::Status s = ReadInteger(v, "int32", std::numeric_limits<int32_t>::min(),
                                   std::numeric_limits<int32_t>::max(), &i, &u);
      if (!s.ok()) return s;
      return static_cast<int>(i);
    }
    return Expected(absl::StrCat("a ", ed->full_name(), " name or number"), v);
  }

  // Decodes a scalar or message value. `null` stores the zero value (which for
  // a oneof member still selects it).
  absl::Status DecodeSingular(const Json& v, Message* m, const FieldDescriptor* f) {
    const Reflection* r = m->GetReflection();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return DecodeMessage(v, r->MutableMessage(m, f));
    }
    return DecodeScalar(v, f, [&](const Scalar& s) { SetScalar(m, f, s); });
  }

  struct Scalar {
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    bool b = false;
    std::string str;
  };

  template <typename Store>
  absl::Status DecodeScalar(const Json& v, const FieldDescriptor* f, Store store) {
    Scalar s;
    if (v.is_null()) {
      store(s);
      return absl::OkStatus();
    }
    absl::Status status;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        status = ReadInteger(v, "int32", std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int32_t>::max(), &s.i, &s.u);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        status = ReadInteger(v, "int64", std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max(), &s.i, &s.u);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        status = ReadInteger(v, "uint32", 0, std::numeric_limits<uint32_t>::max(), &s.i, &s.u);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        status = ReadInteger(v, "uint64", 0, std::numeric_limits<uint64_t>::max(), &s.i, &s.u);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_DOUBLE:
        if (!v.is_number()) return Expected("a number", v);
        s.d = v.get<double>();
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!v.is_boolean()) return Expected("a boolean", v);
        s.b = v.get<bool>();
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        absl::StatusOr<int> e = ReadEnum(v, f->enum_type());
        if (!e.ok()) return e.status();
        s.i = *e;
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        if (!v.is_string()) return Expected("a string", v);
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          if (!absl::Base64Unescape(v.get_ref<const std::string&>(), &s.str)) {
            return Error("expected a base64 string");
          }
        } else {
          s.str = v.get<std::string>();
        }
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Error("internal: message is not a scalar");
    }
    if (!status.ok()) return status;
    store(s);
    return absl::OkStatus();
  }

  static void SetScalar(Message* m, const FieldDescriptor* f, const Scalar& s) {
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, static_cast<int32_t>(s.i));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, s.i);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(m, f, static_cast<uint32_t>(s.u));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, s.u);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(m, f, static_cast<float>(s.d));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(m, f, s.d);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, s.b);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(m, f, static_cast<int>(s.i));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, s.str);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  static void AddScalar(Message* m, const FieldDescriptor* f, const Scalar& s) {
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(m, f, static_cast<int32_t>(s.i));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(m, f, s.i);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(m, f, static_cast<uint32_t>(s.u));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(m, f, s.u);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(m, f, static_cast<float>(s.d));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(m, f, s.d);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(m, f, s.b);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(m, f, static_cast<int>(s.i));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, s.str);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  // A JSON null element becomes the zero value (Go: a nil pointer or zero
  // value in the slice; protobuf has no nil elements).
  absl::Status DecodeRepeated(const Json& v, Message* m, const FieldDescriptor* f) {
    if (!v.is_array()) return Expected("an array", v);
    const Reflection* r = m->GetReflection();
    r->ClearField(m, f);  // Go replaces a slice's contents.
    for (size_t i = 0; i < v.size(); ++i) {
      path_.push_back({"", static_cast<int64_t>(i), i});
      absl::Status s;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        s = DecodeMessage(v[i], r->AddMessage(m, f));
      } else {
        s = DecodeScalar(v[i], f, [&](const Scalar& sc) { AddScalar(m, f, sc); });
      }
      path_.pop_back();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status SetMapKey(const std::string& key, Message* entry) {
    const FieldDescriptor* kf = entry->GetDescriptor()->map_key();
    const Reflection* r = entry->GetReflection();
    bool ok = true;
    switch (kf->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t k = 0;
        ok = absl::SimpleAtoi(key, &k);
        r->SetInt32(entry, kf, k);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t k = 0;
        ok = absl::SimpleAtoi(key, &k);
        r->SetInt64(entry, kf, k);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t k = 0;
        ok = absl::SimpleAtoi(key, &k);
        r->SetUInt32(entry, kf, k);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t k = 0;
        ok = absl::SimpleAtoi(key, &k);
        r->SetUInt64(entry, kf, k);
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        ok = key == "true" || key == "false";
        r->SetBool(entry, kf, key == "true");
        break;
      default:
        r->SetString(entry, kf, key);
    }
    if (!ok) return Error(absl::StrCat("invalid map key \"", key, "\""));
    return absl::OkStatus();
  }

  // A key that appears more than once is decoded into the same entry again,
  // so its last value wins, as when Go assigns to a map.
  absl::Status DecodeMap(const Json& v, Message* m, const FieldDescriptor* f) {
    if (!v.is_object()) return Expected("an object", v);
    const Reflection* r = m->GetReflection();
    r->ClearField(m, f);
    const FieldDescriptor* vf = f->message_type()->map_value();
    std::unordered_map<std::string, Message*> entries;
    size_t position = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++position) {
      path_.push_back({it.key(), -1, position});
      Message*& entry = entries[it.key()];
      absl::Status s;
      if (entry == nullptr) {
        entry = r->AddMessage(m, f);
        s = SetMapKey(it.key(), entry);
      } else {
        entry->GetReflection()->ClearField(entry, vf);
      }
      if (s.ok()) s = DecodeSingular(it.value(), entry, vf);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Routes is map[string]*json.RawMessage: Go keeps each value's input text
  // byte for byte, so the text is cut out of the document rather than
  // re-serialised from the parsed tree.
  absl::Status DecodeRoutes(const Json& j, Message* m) {
    if (!j.is_object()) return Expected("an object", j);
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByNumber(1);
    if (f == nullptr || !f->is_map()) return Error("malformed ProtoRoutes descriptor");
    // The tree keeps every member in document order, so member i of `j` is
    // child i of the same object in the text.
    const std::vector<absl::string_view>* raw = raw_.ChildrenAt(path_);
    if (raw == nullptr || raw->size() != j.size()) {
      return Error("internal: cannot locate route values in the input");
    }
    const Reflection* r = m->GetReflection();
    r->ClearField(m, f);
    const FieldDescriptor* vf = f->message_type()->map_value();
    std::unordered_map<std::string, Message*> entries;  // The last duplicate wins.
    size_t position = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++position) {
      Message*& entry = entries[it.key()];
      if (entry == nullptr) {
        entry = r->AddMessage(m, f);
        entry->GetReflection()->SetString(entry, f->message_type()->map_key(), it.key());
      }
      entry->GetReflection()->SetString(
          entry, vf, it.value().is_null() ? std::string() : std::string((*raw)[position]));
    }
    return absl::OkStatus();
  }

  RawIndex raw_;
  std::vector<PathSegment> path_;
  int depth_ = 0;
};

// Go's scanner refuses documents nested deeper than 10000 levels; so do we,
// before nlohmann builds a tree of them. Returns the number of bytes read
// when the limit was exceeded, or 0.
size_t ExceedsMaxNesting(absl::string_view json) {
  constexpr int kMaxNesting = 10000;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) return i + 1;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return 0;
}

// nlohmann's messages read "[json.exception.parse_error.101] parse error at
// line 1, column 18: syntax error ..."; keep the part after the position.
std::string ParseErrorDetail(absl::string_view what) {
  const size_t column = what.find("column ");
  if (column != absl::string_view::npos) {
    const size_t colon = what.find(": ", column);
    if (colon != absl::string_view::npos) return std::string(what.substr(colon + 2));
  }
  const size_t bracket = what.find("] ");
  if (bracket != absl::string_view::npos) return std::string(what.substr(bracket + 2));
  return std::string(what);
}

}  // namespace

absl::StatusOr<std::string> ToGoJson(const Message& message, const GoJsonOptions& options) {
  std::string out;
  Encoder encoder;
  absl::Status status = encoder.Run(message, &out);
  if (!status.ok()) return status;
  if (options.pretty) return IndentLikeGo(out, options.indent);
  return out;
}

// Go's json.Unmarshal merges into the target; we clear it first so a reused
// message never keeps stale fields (documented in go_json.h).
absl::Status FromGoJson(absl::string_view json, Message* message) {
  message->Clear();
  // nlohmann would skip a UTF-8 byte order mark; Go's decoder rejects it.
  if (absl::StartsWith(json, "\xEF\xBB\xBF")) {
    return InvalidJson(
        "malformed JSON at offset 1: invalid character (byte order mark) looking "
        "for beginning of value");
  }
  if (const size_t offset = ExceedsMaxNesting(json); offset != 0) {
    return InvalidJson(absl::StrCat("malformed JSON at offset ", offset, ": exceeded max depth"));
  }
  Json doc;
  DomBuilder builder(&doc);
  bool parsed = false;
  try {
    parsed = Json::sax_parse(json.begin(), json.end(), &builder);
  } catch (const Json::exception& e) {
    return InvalidJson(absl::StrCat("malformed JSON: ", e.what()));
  }
  if (!parsed) {
    if (!builder.error_is_syntax()) {
      return InvalidJson(absl::StrCat("malformed JSON: ", builder.error()));
    }
    // nlohmann counts the end of input as one more byte read; Go never
    // reports an offset past the input.
    const size_t offset = std::min<size_t>(builder.error_position(), json.size());
    return InvalidJson(
        absl::StrCat("malformed JSON at offset ", offset, ": ", ParseErrorDetail(builder.error())));
  }
  try {
    Decoder decoder(json);
    absl::Status status = decoder.DecodeMessage(doc, message);
    if (!status.ok()) return status;
  } catch (const Json::exception& e) {
    // Not expected (every access is type-checked first); never let it escape.
    return InvalidJson(absl::StrCat("invalid JSON: ", e.what()));
  }
  // Go's nullable=false fields exist whether or not their keys appeared.
  SetNonNullableFields(message);
  return absl::OkStatus();
}

}  // namespace diego::model

namespace diego::model_internal {

void AppendGoJsonString(absl::string_view s, std::string* out) {
  model::AppendGoString(s, out);
}

}  // namespace diego::model_internal
