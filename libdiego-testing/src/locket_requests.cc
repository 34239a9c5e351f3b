// Copyright 2026 The libdiego Authors.

#include "diego/testing/locket_requests.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "diego/model/v1/locket.pb.h"

// `type` is deprecated upstream; tests of its normalisation still send it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::fakes {

model::v1::Resource MakeResource(absl::string_view key, absl::string_view owner,
                                 model::v1::TypeCode type_code, absl::string_view value) {
  model::v1::Resource resource;
  resource.set_key(std::string(key));
  resource.set_owner(std::string(owner));
  resource.set_value(std::string(value));
  resource.set_type_code(type_code);
  return resource;
}

model::v1::LockRequest MakeLockRequest(model::v1::Resource resource, int64_t ttl_seconds) {
  model::v1::LockRequest request;
  *request.mutable_resource() = std::move(resource);
  request.set_ttl_in_seconds(ttl_seconds);
  return request;
}

model::v1::LockRequest MakeLockRequest(absl::string_view key, absl::string_view owner,
                                       int64_t ttl_seconds, model::v1::TypeCode type_code) {
  return MakeLockRequest(MakeResource(key, owner, type_code), ttl_seconds);
}

model::v1::ReleaseRequest MakeReleaseRequest(model::v1::Resource resource) {
  model::v1::ReleaseRequest request;
  *request.mutable_resource() = std::move(resource);
  return request;
}

model::v1::ReleaseRequest MakeReleaseRequest(absl::string_view key, absl::string_view owner) {
  model::v1::Resource resource;
  resource.set_key(std::string(key));
  resource.set_owner(std::string(owner));
  return MakeReleaseRequest(std::move(resource));
}

model::v1::FetchRequest MakeFetchRequest(absl::string_view key) {
  model::v1::FetchRequest request;
  request.set_key(std::string(key));
  return request;
}

model::v1::FetchAllRequest MakeFetchAllRequest(model::v1::TypeCode type_code,
                                               absl::string_view type) {
  model::v1::FetchAllRequest request;
  request.set_type_code(type_code);
  request.set_type(std::string(type));
  return request;
}

}  // namespace diego::fakes
