#ifndef DIEGO_TESTING_FAKE_GARDEN_BACKEND_H_
#define DIEGO_TESTING_FAKE_GARDEN_BACKEND_H_
// Placeholder: being written.
#endif
