# cmake/mingw-w64.cmake — toolchain file: cross-compile iosim's Windows subset with mingw-w64 (posix threads,
# so std::thread works) into static .exe files that run under Wine without any DLL next to them.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(IOSIM_MINGW_TRIPLE x86_64-w64-mingw32)
find_program(CMAKE_CXX_COMPILER NAMES ${IOSIM_MINGW_TRIPLE}-g++-posix REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${IOSIM_MINGW_TRIPLE}-windres)

# Look for libraries and headers only in the mingw sysroot, never in the host's /usr/include or /usr/lib:
# glibc headers would silently replace the Windows C runtime's.
set(CMAKE_FIND_ROOT_PATH /usr/${IOSIM_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -static also links libstdc++, libgcc and winpthread statically: the .exe needs no DLL besides Windows' own.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
