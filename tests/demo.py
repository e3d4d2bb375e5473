"""The demo hierarchy and accounts every test acts on (villagegraph/seed/demo.py creates them).

Tests import these names from here; fixtures (tests/conftest.py) build the database once
per session. This module holds constants only.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The demo accounts (README.md lists them).
CITY_OFFICIAL = "13800000000"
COUNTY_OFFICIAL = "13800000001"
TOWN_OFFICIAL = "13800000002"
VILLAGE_CADRE = "13800000003"
RESIDENT = "13800000010"
NEIGHBOUR = "13800000011"
FAR_RESIDENT = "13800000012"
ANALYST = "13800000020"
SUPERVISOR = "13800000030"  # 村务监督委员会 of VILLAGE (issue 15)

CITY = "330300000000"
LUCHENG = "330302000000"
RUIAN = "330381000000"
WUMA = "330302006000"
TENGQIAO = "330302102000"
ANYANG = "330381001000"
VILLAGE = "330302006001"
NEIGHBOUR_VILLAGE = "330302006002"
FAR_VILLAGE = "330381001001"
