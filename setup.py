"""Maps the guide's rooms (top-level folders) into the `infragap` import namespace.

pyproject.toml holds all metadata; only the package mapping lives here because it is
computed from the folders, so a new sub-package needs no edit anywhere.
"""

from setuptools import find_packages, setup

ROOMS = ["naive", "proven", "loadtests", "reports", "migrate"]

packages = find_packages(include=["infragap", "infragap.*"])
package_dir = {"infragap": "infragap"}
for room in ROOMS:
    package_dir[f"infragap.{room}"] = room
    packages.append(f"infragap.{room}")
    packages.extend(f"infragap.{room}.{sub}" for sub in find_packages(room))

setup(packages=packages, package_dir=package_dir)
