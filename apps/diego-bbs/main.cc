// Copyright 2026 The libdiego Authors.
int main() { return 1; }
