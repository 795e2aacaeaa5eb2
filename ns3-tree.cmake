# ns-3 models inside an ns-3 >= 3.36 source tree, as contrib/mip6ike: ns-3's
# CMake scans contrib/, defines build_lib() and the ${libcore}-style target
# variables, and adds this directory; CMakeLists.txt has already built the
# C core (m6ike_core: C11, -Wall -Wextra -Werror, position-independent) with
# enable_language(C), since ns-3's own project is C++ only.
#
# Checked against build_lib() of ns-3 3.36/3.37
# (build-support/macros-and-definitions.cmake): keywords LIBNAME,
# SOURCE_FILES, HEADER_FILES, LIBRARIES_TO_LINK, TEST_SOURCES; it compiles
# the sources in an OBJECT library "${lib<name>-obj}" that receives the
# include directories of ns-3 modules only, not those of other libraries in
# LIBRARIES_TO_LINK, so the core's headers are made directory-wide here.
# Not built inside a real ns-3 tree here: see doc/BUILD.md and the
# test/cmake/ns3-tree-shim self-test.
include(${CMAKE_CURRENT_LIST_DIR}/ns3-sources.cmake)

include_directories(
  ${CMAKE_CURRENT_SOURCE_DIR}/model/core/include
  ${CMAKE_CURRENT_SOURCE_DIR}/model
  ${CMAKE_CURRENT_SOURCE_DIR}/helper)

build_lib(
  LIBNAME mip6ike
  SOURCE_FILES ${MIP6IKE_NS3_SOURCES}
  HEADER_FILES ${MIP6IKE_NS3_HEADERS}
  LIBRARIES_TO_LINK ${libcore} ${libnetwork} ${libinternet} ${libvirtual-net-device}
                    ${libinternet-apps} ${libcsma} m6ike_core m6ike_crypto_openssl
                    ${libpoint-to-point} ${libwifi} ${libmobility} ${libapplications}
  TEST_SOURCES ${MIP6IKE_NS3_TEST_SOURCES}
)

# Our C++ is held to the project's warnings whatever ns-3's NS3_WARNINGS*
# settings are (ns-3 itself adds -Wall, and -Werror only on request).
# ns-3's headers are not clean under -Wextra (3.37: -Wunused-parameter in
# ptr.h and callback.h), and a tree passes its build/include with -I; so for
# our targets that directory is also given as a SYSTEM directory (gcc and
# clang then ignore the -I), which silences warnings from ns-3's headers
# only.  Our own headers are copied there too, but are checked where our
# sources include them from model/ and in the standalone build.
foreach(_mip6ike_target ${libmip6ike-obj} ${libmip6ike} libmip6ike-test)
  if(_mip6ike_target AND TARGET ${_mip6ike_target})
    target_compile_options(${_mip6ike_target} PRIVATE -Wall -Wextra -Werror)
    if(CMAKE_OUTPUT_DIRECTORY)
      target_include_directories(${_mip6ike_target} SYSTEM PRIVATE
                                 ${CMAKE_OUTPUT_DIRECTORY}/include)
    endif()
  endif()
endforeach()

# The hybrid example (examples/mip6ike-hybrid.cc: a real MN in a namespace
# over TAPs, real time) needs ns-3's fd-net-device and bridge modules; it
# is the only program linking them.  ns-3 >= 3.36 defines build_example()
# and ${libfd-net-device} when that module is enabled (not in the shim).
if(COMMAND build_example AND DEFINED libfd-net-device AND DEFINED libbridge)
  include_directories(${CMAKE_CURRENT_SOURCE_DIR}/examples)
  build_example(
    NAME mip6ike-hybrid
    SOURCE_FILES examples/mip6ike-hybrid.cc
    LIBRARIES_TO_LINK ${libmip6ike} ${libfd-net-device} ${libbridge}
  )
endif()
