# A bad option value exits 2 with one line naming the option and value.
execute_process(COMMAND ${PROG} --loss 2 RESULT_VARIABLE rv
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rv EQUAL 2)
  message(FATAL_ERROR "expected exit status 2, got ${rv}")
endif()
if(NOT err MATCHES "--loss: bad value '2'")
  message(FATAL_ERROR "stderr does not name the option and value: ${err}")
endif()
execute_process(COMMAND ${PROG} --frobnicate RESULT_VARIABLE rv
                ERROR_VARIABLE err)
if(NOT rv EQUAL 2 OR NOT err MATCHES "unknown option '--frobnicate'")
  message(FATAL_ERROR "unknown option not reported: ${rv} ${err}")
endif()
