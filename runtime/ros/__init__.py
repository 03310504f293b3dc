"""Thin rclpy adapters between ROS 2 topics and the runtime objects. One node a file."""
