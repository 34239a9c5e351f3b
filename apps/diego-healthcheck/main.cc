int main() { return 0; }  // Placeholder; replaced by its owner.
