# cmake/scenario-sources.cmake — the one list of scenarios/ sources, shared by the Linux library
# (scenarios/CMakeLists.txt) and the Windows runner's copy (cmake/windows.cmake), so the two cannot drift.
set(IOSIM_SCENARIOS_DIR ${CMAKE_CURRENT_LIST_DIR}/../scenarios)
file(GLOB IOSIM_SCENARIO_SOURCES CONFIGURE_DEPENDS ${IOSIM_SCENARIOS_DIR}/*.cpp ${IOSIM_SCENARIOS_DIR}/apps/*.cpp
     ${IOSIM_SCENARIOS_DIR}/apps/bugs/*.cpp ${IOSIM_SCENARIOS_DIR}/proactor/*.cpp
     ${IOSIM_SCENARIOS_DIR}/reactor/*.cpp ${IOSIM_SCENARIOS_DIR}/selectors/*.cpp)
