"""The directors' and student-support dashboard (Dash + Plotly) over the published, read-only warehouse."""
