"""The ``runrobot`` command line: serve, demo, policy tools, ROS feeds."""
