// The one place that includes the CUDA runtime for the kernels, and the two macros that let the
// same kernel sources also compile as plain C++ against the CPU emulator in kernels/dev/emu
// (TRADY4J_EMULATION), where the dev harness checks their indexing under AddressSanitizer.
//   T4J_LAUNCH(grid, block, smem, stream, kernel)(args...)   a kernel launch
//   T4J_DYNAMIC_SMEM(type, name)                              extern __shared__ type name[]
#pragma once

#ifdef TRADY4J_EMULATION
#include "dev/emu/cuda_emu.h"
#define T4J_LAUNCH(grid, block, smem, stream, ...) ::cuda_emu::launch((grid), (block), (smem), (stream), __VA_ARGS__)
#define T4J_DYNAMIC_SMEM(type, name) type* name = static_cast<type*>(::cuda_emu::dynamic_smem())
#else
#include <cuda_runtime.h>
#define T4J_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
#define T4J_DYNAMIC_SMEM(type, name) extern __shared__ type name[]
#endif
