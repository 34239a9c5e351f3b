// Copyright 2026 The libdiego Authors.

#include "diego/testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <string>
#include <utility>

namespace diego::fakes {

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {}

TestPki::~TestPki() {
  for (auto& [name, cert] : certs_) X509_free(cert);
  for (auto& [name, key] : keys_) EVP_PKEY_free(key);
}

bool TestPki::Make(const std::string& name, const std::string& issuer, bool is_ca, bool server) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return false;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial_);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* issuer_cert = cert;
  EVP_PKEY* issuer_key = key;
  if (!issuer.empty()) {
    issuer_cert = certs_.at(issuer);
    issuer_key = keys_.at(issuer);
  }
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return false;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return true;
  };
  bool ok = add(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (is_ca) {
    ok = ok && add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add(NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok = ok && add(NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
    if (server) ok = ok && add(NID_subject_alt_name, "IP:127.0.0.1");
  }
  ok = ok && X509_sign(cert, issuer_key, EVP_sha256()) > 0;
  ok = ok && WritePem(name, cert, key);
  certs_[name] = cert;
  keys_[name] = key;
  return ok;
}

bool TestPki::WritePem(const std::string& name, X509* cert, EVP_PKEY* key) {
  FILE* c = std::fopen(Cert(name).c_str(), "w");
  FILE* k = std::fopen(Key(name).c_str(), "w");
  if (c == nullptr || k == nullptr) {
    if (c != nullptr) std::fclose(c);
    if (k != nullptr) std::fclose(k);
    return false;
  }
  const bool ok = PEM_write_X509(c, cert) == 1 &&
                  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(c);
  std::fclose(k);
  return ok;
}

bool TestPki::MakeMutualTlsSet() {
  return Make("ca", "", /*is_ca=*/true, /*server=*/false) && Make("server", "ca", false, true) &&
         Make("client", "ca", false, false) && Make("rogue-ca", "", true, false) &&
         Make("rogue", "rogue-ca", false, false);
}

}  // namespace diego::fakes
