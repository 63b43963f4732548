"""kickoff"""
