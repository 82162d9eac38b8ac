# Regular files on the thread pool (issue 4, patches/file.cpp): results and errno identical to the
# real calls, the hub keeps running during a large write, and the switch that keeps calls in place.
greenev_test(file_test file_test.cpp)
