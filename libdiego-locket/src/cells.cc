// Copyright 2026 The libdiego Authors.

#include "diego/locket/cells.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "diego/base/check.h"
#include "diego/base/status_macros.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"

// `type` is deprecated upstream; the BBS still sends "presence".
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {

std::string CellPresenceValue(const model::v1::CellPresence& cell) {
  absl::StatusOr<std::string> json = model::ToGoJson(cell);
  // A CellPresence has no field ToGoJson can refuse (no routes, no floats).
  DIEGO_CHECK_OK(json.status());
  return *std::move(json);
}

LocketCellPresenceSource::LocketCellPresenceSource(LocketClient* client, absl::Duration timeout)
    : client_(client), timeout_(timeout) {}

absl::StatusOr<std::vector<model::v1::CellPresence>> LocketCellPresenceSource::Cells() {
  model::v1::FetchAllRequest request;
  request.set_type("presence");
  request.set_type_code(model::v1::PRESENCE);
  DIEGO_ASSIGN_OR_RETURN(model::v1::FetchAllResponse response,
                         client_->FetchAll(request, timeout_));
  std::vector<model::v1::CellPresence> cells;
  cells.reserve(static_cast<size_t>(response.resources_size()));
  for (const model::v1::Resource& resource : response.resources()) {
    model::v1::CellPresence cell;
    // A presence whose value does not parse is skipped, as Diego's BBS does.
    if (model::FromGoJson(resource.value(), &cell).ok()) cells.push_back(std::move(cell));
  }
  std::ranges::stable_sort(cells, {}, &model::v1::CellPresence::cell_id);
  return cells;
}

absl::StatusOr<model::v1::CellPresence> LocketCellPresenceSource::CellById(
    absl::string_view cell_id) {
  model::v1::FetchRequest request;
  request.set_key(std::string(cell_id));
  absl::StatusOr<model::v1::FetchResponse> response = client_->Fetch(request, timeout_);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kNotFound) {
      return model::ErrResourceNotFound();
    }
    return response.status();
  }
  model::v1::CellPresence cell;
  if (absl::Status parsed = model::FromGoJson(response->resource().value(), &cell); !parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("corrupt cell presence ", cell_id, " in locket: ", parsed.message()));
  }
  return cell;
}

}  // namespace diego::locket
