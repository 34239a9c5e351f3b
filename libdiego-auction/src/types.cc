// Copyright 2026 The libdiego Authors.
//
// The auction's value types: identities and the expansion of start requests
// (auction auctiontypes, rep resources.go `LRP.Identifier`).

#include "diego/auction/types.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace diego::auction {

std::string LrpAuction::Identifier() const {
  // rep `LRP.Identifier`: fmt.Sprintf("%s.%d", ProcessGuid, Index).
  return absl::StrCat(lrp.process_guid, ".", lrp.index);
}

std::vector<LrpAuction> LrpAuctionsFromRequest(const LrpStartRequest& request, absl::Time now) {
  std::vector<LrpAuction> auctions;
  auctions.reserve(request.indices.size());
  for (int32_t index : request.indices) {
    LrpAuction auction;
    auction.lrp.process_guid = request.process_guid;
    auction.lrp.index = index;
    auction.lrp.domain = request.domain;
    auction.lrp.constraint = request.constraint;
    auction.lrp.resource = request.resource;
    auction.record.queue_time = now;
    auctions.push_back(std::move(auction));
  }
  return auctions;
}

}  // namespace diego::auction
