"""Notification service: email, SMS, calendar invites, reminders and in-app notifications."""
