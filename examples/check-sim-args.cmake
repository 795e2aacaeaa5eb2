# An ns-3 example given one bad argument ARG exits 2 with exactly one line
# on stderr, matching WANT, and nothing on stdout.
execute_process(COMMAND ${PROG} ${ARG} RESULT_VARIABLE rv
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rv EQUAL 2)
  message(FATAL_ERROR "${ARG}: expected exit status 2, got ${rv}\nstdout: ${out}\nstderr: ${err}")
endif()
string(REGEX MATCHALL "\n" lines "${err}")
list(LENGTH lines n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "${ARG}: expected one line on stderr, got ${n}: ${err}")
endif()
if(NOT err MATCHES "${WANT}")
  message(FATAL_ERROR "${ARG}: stderr does not match '${WANT}': ${err}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "${ARG}: unexpected stdout: ${out}")
endif()
