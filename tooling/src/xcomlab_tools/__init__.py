"""xcom-lab's tooling that runs inside Airflow components, above the package users ship (xcomlab): the settings
lint (`python -m xcomlab_tools.lint`) and the MWAA emulator (`xcomlab_tools.mwaa`)."""
