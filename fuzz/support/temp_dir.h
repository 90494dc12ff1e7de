// The fuzz targets' folder for the files an input becomes, made once per
// process (mkdtemp for every input would cost the fuzzer its speed) and
// emptied between inputs. Under /dev/shm when there is one: the state-file
// code fsyncs every write, which on tmpfs costs nothing.
#pragma once

#include "tests/support/temp_folder.h"

namespace sluice::fuzz {

const testing::TempFolder& scratch_dir();

}  // namespace sluice::fuzz
