# CUDA setup for the trady4j native build.
#
# Sets TRADY4J_HAVE_CUDA to ON when a CUDA compiler and toolkit are usable, enables the CUDA
# language, and chooses the targets: machine code for sm_80 (A100) and sm_90 (H100/H200) plus
# compute_90 PTX that newer GPUs compile at load time. The CUDA runtime is linked statically so
# that libtrady4j_cuda.so needs only the driver (libcuda.so) at run time.
#
# Override the targets with -DCMAKE_CUDA_ARCHITECTURES=... (e.g. "90-real" for a quicker build).

include(CheckLanguage)

set(TRADY4J_HAVE_CUDA OFF)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  set(TRADY4J_NO_CUDA_REASON "no CUDA compiler (nvcc) was found; set CMAKE_CUDA_COMPILER or put nvcc on PATH")
else()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
  endif()
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  enable_language(CUDA)
  find_package(CUDAToolkit)
  if(CUDAToolkit_FOUND)
    set(TRADY4J_HAVE_CUDA ON)
  else()
    set(TRADY4J_NO_CUDA_REASON "nvcc was found at ${CMAKE_CUDA_COMPILER} but not the CUDA toolkit around it")
  endif()
endif()

# Compile options shared by every CUDA target of the project.
function(trady4j_cuda_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-warn-spills>)
  if(TRADY4J_PTXAS_VERBOSE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-v>)
  endif()
  if(TRADY4J_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
  target_include_directories(${target} PRIVATE ${TRADY4J_ROOT}/native/include ${TRADY4J_ROOT}/kernels)
endfunction()
