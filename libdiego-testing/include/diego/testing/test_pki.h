// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: test_pki.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::TestPki`: a throwaway PKI for mutual-TLS tests, made with
// OpenSSL's C API (P-256 keys, SHA-256 signatures, valid from an hour ago for
// a day). Each `Make` writes `<dir>/<name>.crt` and `<dir>/<name>.key` (PEM):
//
//   TestPki pki(dir);
//   ASSERT_TRUE(pki.Make("ca", "", /*is_ca=*/true, /*server=*/false));
//   ASSERT_TRUE(pki.Make("server", "ca", false, true));   // SAN IP:127.0.0.1
//   ASSERT_TRUE(pki.Make("client", "ca", false, false));  // clientAuth
//   options.tls = {pki.Cert("ca"), pki.Cert("server"), pki.Key("server")};
//
// Server certificates carry extendedKeyUsage serverAuth and the subject
// alternative name IP:127.0.0.1 (tests bind 127.0.0.1); client certificates
// carry clientAuth. The subject CN is the name.
//
// Thread-safety: not thread-compatible across `Make` calls; the files it
// writes can be read from anywhere.

#ifndef DIEGO_TESTING_TEST_PKI_H_
#define DIEGO_TESTING_TEST_PKI_H_

#include <map>
#include <string>

// OpenSSL's types, without its headers.
struct x509_st;
struct evp_pkey_st;

namespace diego::fakes {

class TestPki {
 public:
  // `dir` must exist; files are written there.
  explicit TestPki(std::string dir);
  ~TestPki();

  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // Writes <name>.crt / <name>.key signed by `issuer` (an earlier `Make`;
  // self-signed when empty). Returns false if OpenSSL fails or a file cannot
  // be written.
  bool Make(const std::string& name, const std::string& issuer, bool is_ca, bool server);

  // Makes the certificates most mutual-TLS tests need: a CA "ca"; "server"
  // and "client" issued by it; and a CA "rogue-ca" that "ca" does not vouch
  // for, with a "rogue" client certificate. Returns false if any `Make` fails.
  bool MakeMutualTlsSet();

  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  bool WritePem(const std::string& name, x509_st* cert, evp_pkey_st* key);

  std::string dir_;
  long serial_ = 0;  // NOLINT(runtime/int)
  std::map<std::string, x509_st*> certs_;
  std::map<std::string, evp_pkey_st*> keys_;
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_TEST_PKI_H_
